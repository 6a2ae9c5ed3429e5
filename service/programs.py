"""The programs (core/program.py) a worker keeps by content id, the least recently used
evicted past GRADSERVE_MAX_PREPARED_GRAPHS programs or GRADSERVE_MAX_PREPARED_NODES nodes:
registered by POST /v1/graphs, and reused whenever POST /v1/gradients or /v1/run posts the
same program again, which then skips the import, the gradients and the plan. A program
posted again as it was before is found by its request's program key without even being
decoded (its content id needs the decoded program)."""

from collections.abc import Callable, Mapping

import numpy as np
from fastapi import Request

from core.program import Build, Program, ProgramCache, Results
from service import limits, metrics
from service.errors import UnknownGraph
from service.routes.common import check_sizes
from service.settings import Settings
from service.timing import ServerTiming


def create_cache(settings: Settings) -> ProgramCache:
    return ProgramCache(settings.max_prepared_graphs, settings.max_prepared_nodes)


def cache_of(request: Request) -> ProgramCache:
    return request.app.state.programs


def posted(cache: ProgramCache, key: bytes | None, decode: Callable[[], Program]) -> Program:
    """The program a request posts, by its program key (schemas.common.program_key; None:
    none): the one kept under that key, else `decode()` as `kept`, noted under the key."""
    found = None if key is None else cache.find(key)
    if found is None:
        program = kept(cache, decode())
        if key is not None:
            cache.alias(key, program.id)
        return program
    metrics.GRAPH_NODES.observe(len(found.node_defs))
    metrics.PROGRAM_LOOKUPS.labels("hit").inc()
    return found


def kept(cache: ProgramCache, program: Program) -> Program:
    """The program kept under the id of `program` (posted with a request), else `program`."""
    metrics.GRAPH_NODES.observe(len(program.node_defs))
    found = cache.get(program.id)
    metrics.PROGRAM_LOOKUPS.labels("miss" if found is None else "hit").inc()
    return program if found is None else found


def registered(cache: ProgramCache, program_id: str) -> Program:
    """The program registered under `program_id`; UnknownGraph when this worker has none."""
    found = cache.get(program_id)
    metrics.PROGRAM_LOOKUPS.labels("miss" if found is None else "hit").inc()
    if found is None:
        raise UnknownGraph(f"this worker has no prepared graph {program_id[:100]!r} (it never "
                           f"saw it, or evicted it since): register it again with POST "
                           f"/v1/graphs, which gives it the same id")
    return found


def compute(cache: ProgramCache, program: Program, feeds: Mapping[str, np.ndarray] | None,
            settings: Settings, timing: ServerTiming, *,
            specialize: bool = True) -> tuple[Build, Results | None]:
    """`program` built for `feeds` (then kept in `cache`) and evaluated with them within the
    limits, each gradient and fetched value checked against the element limit; with
    `feeds` None, only built (symbolically: no plan, no values)."""
    limits.leave_event_loop_unless(len(program.node_defs) <= limits.INLINE_MAX_NODES)
    with timing.measure("build"):
        build = program.build(feeds, specialize=specialize)
        cache.add(program)
    if feeds is None:
        return build, None
    with timing.measure("eval"):
        results = limits.evaluate(build, feeds, settings)
        check_sizes([g[0] if isinstance(g, tuple) else g for g in results.gradients],
                    [f"the gradient for {x!r}" for x in program.xs], settings.max_tensor_elements)
        check_sizes(results.fetched, [f"fetch {ref!r}" for ref in program.fetches],
                    settings.max_tensor_elements)
    return build, results

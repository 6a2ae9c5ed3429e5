"""gradserve over HTTP: POST /v1/gradients to a server started by the benchmark.

The graph is the in-process path's graph (frameworks/gradserve.py `forward`), sent as
wire JSON with the feeds in the chosen encoding (`data`: JSON arrays, `b64`: base64,
`binary`: a binary message, the JSON header then the raw bytes, read in place both ways).
`prepared` registers the graph once (POST /v1/graphs, in the time to the first gradient)
and then sends only the feeds, binary, to POST /v1/graphs/{id}/gradients: what the SDK
does from a program's second run. One request is timed end to end: the pre-encoded body sent, the server's work, the
response received and decoded into NumPy arrays. The client's encoding of the body is
counted in the time to the first gradient only (a client sending new feeds each time
pays it on every request: `details()["client_encode_ms"]`).

The body goes out as 1 MiB memoryview chunks with its Content-Length: handed one large
`bytes`, httpcore's sync writer re-slices the rest of it after every send, copying the
body over and over (about 1.4 s of a 90 MB request)."""

import base64
import json
import statistics
import time

import httpx
import numpy as np

from benchmarks.frameworks.gradserve import forward
from schemas.graph import encode_graph
from schemas.tensors import BINARY_ALIGNMENT, binary_data, encode_tensor
from service.routes.common import BINARY_MEDIA_TYPE, HEADER_LENGTH

STAGES = ("parse", "build", "eval", "encode")
CHUNK = 2**20


def decode_value(value: dict, binary: memoryview) -> np.ndarray:
    dtype = np.dtype(value["dtype"])
    if "binary_data_offset" in value:
        start = value["binary_data_offset"]
        raw = binary[start:start + value["binary_data_size"]]
        return np.frombuffer(raw, dtype.newbyteorder("<")).reshape(value["shape"])
    if "b64" in value:
        raw = base64.b64decode(value["b64"])
        return np.frombuffer(raw, dtype.newbyteorder("<")).astype(dtype).reshape(value["shape"])
    return np.asarray(value["data"], dtype).reshape(value["shape"])


def server_timing(header: str) -> dict[str, float]:
    """'parse;dur=0.8, build;dur=0.3' -> {'parse': 0.8, 'build': 0.3}."""
    result = {}
    for part in header.split(","):
        name, _, rest = part.strip().partition(";")
        if rest.startswith("dur="):
            result[name] = float(rest[4:])
    return result


class Adapter:
    def __init__(self, workload, url: str, encoding: str):
        self.workload, self.encoding = workload, encoding
        self.client = httpx.Client(base_url=url, timeout=httpx.Timeout(1800.0))
        self.body = b""
        self.path = "/v1/gradients"
        self.headers: dict[str, str] = {}
        self.timings: list[dict[str, float]] = []
        self.response_bytes = self.tensor_bytes = 0
        self.encode_ms = 0.0

    def _encode(self) -> tuple[bytes, dict[str, str]]:
        graph, loss, _ = forward(self.workload)
        program = {"ys": [loss.name], "xs": list(self.workload.xs)}
        encoding = self.encoding
        if encoding == "prepared":
            self.path = f"/v1/graphs/{self._register(graph, program)}/gradients"
            encoding, program = "binary", {}
        with binary_data() as binary:
            body = {**program, "feeds": {name: encode_tensor(value, encoding)
                                         for name, value in self.workload.inputs.items()},
                    "encoding": encoding}
            if program:
                body["graph"] = encode_graph(graph.to_node_defs(), encoding)
                if not self.workload.evaluates:
                    body["evaluate"] = False
        header = json.dumps(body).encode()
        if not binary.chunks:
            return header, {"content-type": "application/json"}
        header += b" " * (-len(header) % BINARY_ALIGNMENT)
        return b"".join([header, *binary.chunks]), {"content-type": BINARY_MEDIA_TYPE,
                                                    HEADER_LENGTH: str(len(header))}

    def _register(self, graph, program: dict) -> str:
        response = self.client.post("/v1/graphs", json={
            "graph": encode_graph(graph.to_node_defs(), "b64"), **program})
        if response.status_code not in (200, 201):
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:400]}")
        return response.json()["id"]

    def _request(self):
        started = time.perf_counter()
        view = memoryview(self.body)
        response = self.client.post(
            self.path, content=(view[i:i + CHUNK] for i in range(0, len(view), CHUNK)),
            headers={**self.headers, "content-length": str(len(view))})
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:400]}")
        start = time.perf_counter()
        timing = server_timing(response.headers.get("server-timing", ""))
        self.response_bytes = len(response.content)
        header_length = int(response.headers.get(HEADER_LENGTH, len(response.content)))
        binary = memoryview(response.content)[header_length:]
        gradients = json.loads(response.content[:header_length]).get("gradients")
        values = None if gradients is None else [decode_value(g, binary) for g in gradients]
        end = time.perf_counter()
        timing["client_decode"] = (end - start) * 1e3
        timing["transport"] = ((end - started) * 1e3 - timing["client_decode"]
                               - sum(timing.get(stage, 0.0) for stage in STAGES))
        self.timings.append(timing)
        if values is None:
            return None
        self.tensor_bytes = (sum(v.nbytes for v in self.workload.inputs.values())
                             + sum(v.nbytes for v in values))
        return values

    def first(self):
        start = time.perf_counter()
        self.body, self.headers = self._encode()
        self.encode_ms = (time.perf_counter() - start) * 1e3
        values = self._request()
        return time.perf_counter() - start, values

    step = _request

    def build(self):
        return None  # the server's own figure: details()["server_ms"]["build"]

    def details(self):
        timed = self.timings[1:] or self.timings  # the first request is the cold one
        return {"encoding": self.encoding, "request_bytes": len(self.body),
                "response_bytes": self.response_bytes,
                "tensor_bytes": self.tensor_bytes, "client_encode_ms": self.encode_ms,
                "server_ms": {stage: statistics.median(t.get(stage, 0.0) for t in timed)
                              for stage in STAGES} if timed else {},
                "client_decode_ms": statistics.median(t["client_decode"] for t in timed)
                if timed else None,
                "transport_ms": statistics.median(t["transport"] for t in timed)
                if timed else None}

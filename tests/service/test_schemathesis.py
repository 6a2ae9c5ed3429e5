"""Property-based tests of every operation of the OpenAPI document against the ASGI app
(schemathesis): generated valid and invalid requests never get a 5xx, invalid ones are
refused, and every response conforms to the document (status codes, content types,
headers, bodies), with API keys required and ignored nowhere.

One check is left out: a request the schema admits may still be refused (422), as a graph
whose references name no node is, so "schema-valid requests are accepted" does not hold."""

import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from service.app import create_app
from service.settings import Settings

API_KEY = "schemathesis-key"
MAX_EXAMPLES = 30  # per operation and mode: the whole module runs in well under a minute

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(Settings(api_keys=API_KEY)))
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                max_examples=MAX_EXAMPLES, deterministic=True,
                                with_security_parameters=False)  # the key is sent below


@schema.parametrize()
def test_every_operation_conforms_and_never_fails(case):
    case.call_and_validate(headers={"X-API-Key": API_KEY},
                           excluded_checks=[positive_data_acceptance])

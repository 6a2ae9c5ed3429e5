// gradserve from JavaScript with plain fetch (Node.js 18+ or a browser).
//   node examples/gradients.mjs [BASE_URL]
// d/dw sum(tanh(x @ w)) for a 2x3 x and a 3x1 w, then a gradient of a gradient.

const baseUrl = process.argv[2] ?? process.env.GRADSERVE_BASE_URL ?? "http://127.0.0.1:8000";

const tensor = (dtype, shape, data) => ({ dtype, shape, data });

async function post(path, body) {
  const response = await fetch(baseUrl + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) {
    // A problem+json body: `exception` names what tf.gradients raises.
    throw new Error(`${json.exception ?? response.status}: ${json.detail}`);
  }
  return json;
}

const graph = {
  nodes: [
    { name: "x", op: "Placeholder", attrs: { dtype: "float32", shape: [null, 3] } },
    { name: "w", op: "Placeholder", attrs: { dtype: "float32", shape: [3, 1] } },
    { name: "xw", op: "MatMul", inputs: ["x", "w"] },
    { name: "t", op: "Tanh", inputs: ["xw"] },
    { name: "axes", op: "Const", attrs: { value: tensor("int32", [2], [0, 1]) } },
    { name: "y", op: "Sum", inputs: ["t", "axes"] },
  ],
};
const feeds = {
  x: tensor("float32", [2, 3], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
  w: tensor("float32", [3, 1], [1, -1, 0.5]),
};

const first = await post("/v1/gradients", { graph, ys: "y", xs: ["w"], feeds, return_graph: true });
const [dw] = first.gradients;
console.log("dy/dw =", dw.data);

// The returned graph holds the gradient nodes: differentiate the gradient again.
const [ref] = first.gradient_refs;
const second = await post("/v1/gradients", { graph: first.graph, ys: ref, xs: ["x"], feeds });
console.log("d(sum dy/dw)/dx =", second.gradients[0].data);

// Check against the formula: dy/dw = x^T (1 - tanh(xw)^2).
const x = feeds.x.data, w = feeds.w.data;
const rows = [0, 1].map((i) => 1 - Math.tanh(x[3 * i] * w[0] + x[3 * i + 1] * w[1] + x[3 * i + 2] * w[2]) ** 2);
const expected = [0, 1, 2].map((j) => x[j] * rows[0] + x[3 + j] * rows[1]);
if (expected.some((e, j) => Math.abs(e - dw.data[j]) > 1e-5)) {
  console.error("mismatch: expected", expected);
  process.exit(1);
}

"""TensorFlow graph mode: a tf.Graph of placeholders, tf.gradients, Session.run."""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from benchmarks.frameworks import threads  # noqa: E402


class Adapter:
    def __init__(self, workload):
        self.workload = workload
        self.session = self.fetches = self.feed_dict = None

    def _forward(self):
        graph = tf.Graph()
        with graph.as_default():
            placeholders = {name: tf.compat.v1.placeholder(tf.as_dtype(value.dtype), value.shape,
                                                           name=name)
                            for name, value in self.workload.inputs.items()}
            loss = self.workload.tensorflow(tf, placeholders)
        return graph, loss, placeholders

    def _backward(self, graph, loss, placeholders):
        with graph.as_default():
            grads = tf.gradients(loss, [placeholders[x] for x in self.workload.xs])
            # IndexedSlices (a gather's gradient) made dense, as the other frameworks return it
            return [tf.convert_to_tensor(g) for g in grads]

    def first(self):
        start = time.perf_counter()
        graph, loss, placeholders = self._forward()
        self.fetches = self._backward(graph, loss, placeholders)
        config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads(),
                                          inter_op_parallelism_threads=threads())
        self.session = tf.compat.v1.Session(graph=graph, config=config)
        self.feed_dict = {placeholders[name]: value
                          for name, value in self.workload.inputs.items()}
        values = self.session.run(self.fetches, self.feed_dict)
        return time.perf_counter() - start, values

    def step(self):
        return self.session.run(self.fetches, self.feed_dict)

    def build(self):
        graph, loss, placeholders = self._forward()
        start = time.perf_counter()
        self._backward(graph, loss, placeholders)
        return time.perf_counter() - start

    def details(self):
        return {"version": tf.__version__, "threads": threads() or "default"}

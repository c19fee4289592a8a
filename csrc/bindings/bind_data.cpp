// Batch source bindings: in-memory arrays and the producer/consumer queue. Waits release the GIL.
#include "bindings/bindings.h"
#include "data/batch_source.h"

namespace fastfit::bind {
namespace {

// The batch's rows as numpy arrays, for batches run from Python (the eager fallback).
py::object batch_to_numpy(BatchSource& source) {
  Batch b;
  bool more;
  {
    py::gil_scoped_release nogil;
    more = source.next(b);
  }
  if (!more) return py::none();
  py::list out;
  for (auto& t : b.arrays) {
    Shape s = t->shape;
    s.d[0] = b.count;
    Tensor rows;
    rows.resize(s, t->dtype);
    const size_t row = size_t(t->size() / std::max<int64_t>(t->shape[0], 1)) * 4;
    for (int64_t k = 0; k < b.count; ++k)
      std::memcpy(static_cast<char*>(rows.data) + k * row,
                  static_cast<const char*>(t->data) + (b.rows ? b.rows[k] : k) * row, row);
    out.append(to_numpy(rows));
  }
  return std::move(out);
}

}  // namespace

void init_data(py::module_& m) {
  m.def(
      "buffered_shuffle",
      [](py::array_t<int64_t, py::array::c_style | py::array::forcecast> items, int64_t buffer_size,
         py::array_t<double, py::array::c_style | py::array::forcecast> uniforms) {
        const int64_t n = items.size();
        if (buffer_size < 1) throw py::value_error("buffered_shuffle: buffer_size must be >= 1, got " +
                                                   std::to_string(buffer_size));
        if (uniforms.size() < n)
          throw py::value_error("buffered_shuffle: expected " + std::to_string(n) + " uniform draws, got " +
                                std::to_string(uniforms.size()));
        py::array_t<int64_t> order(n);
        std::copy(items.data(), items.data() + n, order.mutable_data());
        const double* u = uniforms.data();
        buffered_shuffle(order.mutable_data(), n, buffer_size, [&](int64_t k) { return int64_t(*u++ * double(k)); });
        return order;
      },
      py::arg("items"), py::arg("buffer_size"), py::arg("uniforms"),
      "`items` in the order of tf.data's buffered shuffle (a new array): each slot of the buffer is drawn as "
      "int(u * its size), u the next of `uniforms` (len(items) draws in all).");

  py::class_<BatchSource, std::shared_ptr<BatchSource>>(m, "BatchSource")
      .def("next_batch", &batch_to_numpy, "The next batch as numpy arrays (copies), or None at the end.")
      .def("more", &BatchSource::more, py::call_guard<py::gil_scoped_release>(),
           "Whether another batch comes (waits for the producer to decide).")
      .def_property_readonly("steps", &BatchSource::steps)
      .def_property_readonly("num_arrays", &BatchSource::num_arrays)
      .def_property_readonly("position", &BatchSource::position, "Samples handed out so far (this pass).");

  py::class_<ArraySource, BatchSource, std::shared_ptr<ArraySource>>(m, "ArraySource")
      .def(py::init<std::vector<TensorPtr>, int64_t, bool>(), py::arg("arrays"), py::arg("batch_size"),
           py::arg("drop_remainder") = false)
      .def("start_pass", &ArraySource::start_pass, py::arg("shuffle"), py::arg("seed") = 0, py::arg("buffer_size") = 0,
           "Back to the first batch; reshuffled with `seed` when `shuffle` (buffer_size > 0: tf.data's "
           "buffered shuffle, a local one for small buffers).")
      .def("order", [](const ArraySource& s) { return s.order(); }, "This pass's sample order.")
      .def_property_readonly("num_samples", &ArraySource::num_samples)
      .def_property_readonly("batch_size", &ArraySource::batch_size);

  py::class_<QueueSource, BatchSource, std::shared_ptr<QueueSource>>(m, "QueueSource")
      .def(py::init<int, int, int64_t>(), py::arg("num_arrays"), py::arg("capacity"), py::arg("steps") = -1)
      .def(
          "push",
          [](QueueSource& q, const std::vector<TensorPtr>& arrays) {
            // Copies owned by C++, on the host: the consumer frees them without taking the GIL (a numpy
            // view's release would wait for the producer's Python code to yield it).
            std::vector<TensorPtr> owned;
            for (auto& a : arrays) {
              auto t = Tensor::make(a->shape, a->dtype);
              t->copy_from(*a);
              owned.push_back(std::move(t));
            }
            py::gil_scoped_release nogil;
            return q.push(std::move(owned));
          },
          py::arg("arrays"), "Adds a batch (copied), waiting while the queue is full; False once the consumer stopped.")
      .def("close", &QueueSource::close, "No more batches.")
      .def("fail", &QueueSource::fail, py::arg("error"), "The producer failed: the consumer raises `error`.")
      .def("stop", &QueueSource::stop, "The consumer is done: unblocks and refuses the producer.");
}

}  // namespace fastfit::bind

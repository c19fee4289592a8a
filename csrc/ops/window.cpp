// Window attributes and the output size / padding rules of convolution and pooling (ops/window.h).
#include "ops/window.h"

namespace fastfit {

void read_sizes(const char* op, int rank, const Attrs& a, const char* name, int64_t* out) {
  const auto& v = a.get<std::vector<int64_t>>(name);
  bool ok = int(v.size()) == rank;
  std::string got;
  for (int64_t e : v) {
    ok = ok && e > 0;
    got += (got.empty() ? "" : ", ") + std::to_string(e);
  }
  FF_CHECK(ok, std::string(op) + ": `" + name + "` must be " + std::to_string(rank) + " positive integer(s), got [" +
                   got + "]");
  for (int i = 0; i < rank; ++i) out[i] = v[i];
}

Window::Window(const char* op_, int rank_, const Attrs& a, bool causal_ok) : op(op_), rank(rank_) {
  read_sizes(op, rank, a, "strides", stride);
  if (a.find("dilation_rate")) read_sizes(op, rank, a, "dilation_rate", dilation);
  const std::string& p = a.get<std::string>("padding");
  if (p == "valid") padding = Padding::valid;
  else if (p == "same") padding = Padding::same;
  else if (p == "causal" && causal_ok) padding = Padding::causal;
  else fail(std::string(op) + ": `padding` must be 'valid'" + (causal_ok ? ", 'same' or 'causal'" : " or 'same'") +
            ", got '" + p + "'");
}

ConvGeom Window::input(const Tensor& x) const {
  expect_dtype(op, "inputs", x, DType::f32);
  FF_CHECK(x.rank() == rank + 2, std::string(op) + ": expected inputs of rank " + std::to_string(rank + 2) +
                                     " (batch, " + (rank == 2 ? "height, width" : "steps") + ", channels), got " +
                                     x.desc());
  ConvGeom g{};
  g.B = x.shape[0];
  g.H = rank == 2 ? x.shape[1] : 1;
  g.W = x.shape[-2];
  g.C = x.shape[-1];
  g.sh = g.dh = g.kh = g.OH = 1;
  return g;
}

ConvGeom Window::over(const Tensor& x, const int64_t* size, const char* what) const {
  ConvGeom g = input(x);
  const int64_t in[2] = {g.H, g.W};
  int64_t out[2] = {1, 1}, pad[2] = {0, 0}, span[2] = {1, 1};
  const int a0 = 2 - rank;  // 1-D windows run along the width
  for (int i = 0; i < rank; ++i) {
    span[i] = (size[i] - 1) * dilation[i] + 1;
    const int64_t n = in[a0 + i], s = stride[i];
    if (padding == Padding::valid) {
      pad[i] = 0;
      out[i] = n >= span[i] ? (n - span[i]) / s + 1 : 0;
    } else if (padding == Padding::same) {
      out[i] = (n + s - 1) / s;
      pad[i] = std::max<int64_t>((out[i] - 1) * s + span[i] - n, 0) / 2;
    } else {
      pad[i] = span[i] - 1;
      out[i] = (n - 1) / s + 1;
    }
  }
  for (int i = 0; i < rank; ++i)
    FF_CHECK(padding != Padding::valid || in[a0 + i] >= span[i],
             std::string(op) + ": " + what + " " + dims_str(size, rank) +
                 (span[i] != size[i] ? " (dilated to " + dims_str(span, rank) + ")" : "") +
                 " is larger than the input's " + dims_str(in + a0, rank) + " spatial size with padding='valid'");
  g.kw = size[rank - 1];
  g.sw = stride[rank - 1];
  g.dw = dilation[rank - 1];
  g.OW = out[rank - 1];
  g.pad_w = pad[rank - 1];
  if (rank == 2) {
    g.kh = size[0];
    g.sh = stride[0];
    g.dh = dilation[0];
    g.OH = out[0];
    g.pad_h = pad[0];
  }
  return g;
}

Attrs window_defaults(int rank, bool dilation) {
  const std::vector<int64_t> ones(rank, 1);
  Attrs a{{"strides", ones}, {"padding", "valid"}};
  if (dilation) a.set("dilation_rate", ones);
  return a;
}

std::string dims_str(const int64_t* d, int rank) {
  return rank == 2 ? std::to_string(d[0]) + "x" + std::to_string(d[1]) : std::to_string(d[0]);
}

}  // namespace fastfit

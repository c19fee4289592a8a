// The CUDA kernels' index arithmetic and formulas, checked without a GPU: each kernel of
// csrc/kernels/cuda/*.cu, compiled as host loops (prelude.h and the stand-ins beside it), against the
// CPU kernel of the same name on random inputs. Bit-identical where the CPU's order of operations is
// kept; 1e-5 relative elsewhere (the CPU contracts some products into FMAs, col2im adds taps in another
// order). Matrix products (cuBLASLt) and the block kernels need a GPU: bench/gpu_check.sh.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/kernels.h"

using namespace fastfit;
using Vec = std::vector<float>;

// The kernel `name` of the device under check: K(act_forward)(...) in a check's `run(gpu, out)`.
#define K(name) (gpu ? &cuda::name : &cpu::name)

namespace {

std::mt19937 rng(1);
int failures = 0;

Vec rnd(size_t n, float lo = -1.f, float hi = 1.f) {
  std::uniform_real_distribution<float> d(lo, hi);
  Vec v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// The largest difference relative to each value (and to a thousandth of the largest value: sums that
// cancel to near 0 keep the rounding of their large terms).
void expect_close(const std::string& what, const Vec& gpu, const Vec& cpu, float tol) {
  double largest = 0, worst = 0;
  size_t at = 0;
  for (float v : cpu) largest = std::max(largest, double(std::fabs(v)));
  for (size_t i = 0; i < gpu.size(); ++i) {
    if (std::isnan(gpu[i]) && std::isnan(cpu[i])) continue;
    const double scale = std::fabs(cpu[i]) + 1e-3 * largest + 1e-12;
    const double d = std::isnan(gpu[i]) != std::isnan(cpu[i]) ? 1e30 : std::fabs(double(gpu[i]) - cpu[i]) / scale;
    if (d > worst) worst = d, at = i;
  }
  if (worst > tol) {
    ++failures;
    std::printf("FAIL %-36s relative %.3g at %zu: GPU %.8g, CPU %.8g\n", what.c_str(), worst, at, gpu[at], cpu[at]);
  } else {
    std::printf("ok   %-36s relative %.2g over %zu values\n", what.c_str(), worst, gpu.size());
  }
}

// run(gpu, out) with `out` a copy of `init`, once per device: the outputs must agree.
template <class F>
void same(const std::string& what, const Vec& init, F run, float tol = 1e-5f) {
  Vec a = init, b = init;
  run(true, a);
  run(false, b);
  expect_close(what, a, b, tol);
}

Vec as_floats(const std::vector<int32_t>& v) { return Vec(v.begin(), v.end()); }

void elementwise() {
  const int n = 1000;
  const Vec x = rnd(n, -3.f, 3.f), dy = rnd(n), pos = rnd(n, 0.1f, 2.f);
  for (Act act : {Act::linear, Act::relu, Act::sigmoid, Act::tanh}) {
    const std::string a = "act " + std::to_string(int(act));
    Vec y(n);
    cpu::act_forward(act, x.data(), n, y.data());
    same(a + " forward", Vec(n), [&](bool gpu, Vec& o) { K(act_forward)(act, x.data(), n, o.data()); });
    for (bool acc : {false, true})
      same(a + " backward", rnd(n), [&](bool gpu, Vec& o) {
        K(act_backward)(act, y.data(), dy.data(), n, o.data(), acc);
      });
  }
  for (int k = 0; k <= int(Unary::sign); ++k) {
    const std::string u = "unary " + std::to_string(k);
    Vec y(n);
    cpu::unary_forward(Unary(k), pos.data(), n, y.data());
    same(u + " forward", Vec(n), [&](bool gpu, Vec& o) { K(unary_forward)(Unary(k), pos.data(), n, o.data()); });
    same(u + " backward", rnd(n),
         [&](bool gpu, Vec& o) { K(unary_backward)(Unary(k), pos.data(), y.data(), dy.data(), n, o.data(), true); });
  }
  for (Unary k : {Unary::expm1, Unary::erf, Unary::softplus, Unary::floor, Unary::ceil, Unary::round, Unary::sign})
    same("unary " + std::to_string(int(k)) + " signed", Vec(n), [&](bool gpu, Vec& o) {
      K(unary_forward)(k, x.data(), n, o.data());
    });
  const Vec b = rnd(8);
  same("bias_add", Vec(5 * 8), [&](bool gpu, Vec& o) { K(bias_add_forward)(x.data(), b.data(), 5, 8, o.data()); });
  same("axpy_store", rnd(n), [&](bool gpu, Vec& o) { K(axpy_store)(0.5f, x.data(), n, o.data(), true); });
  same("fill", Vec(n), [&](bool gpu, Vec& o) { K(fill)(o.data(), n, 2.5f); });
  same("cast_to_bool", Vec(n), [&](bool gpu, Vec& o) { K(cast_to_bool)(dy.data(), n, o.data()); });
  same("cast_f32_i32", Vec(n), [&](bool gpu, Vec& o) {
    std::vector<int32_t> i(n);
    K(cast_f32_i32)(x.data(), n, i.data());
    o = as_floats(i);
  });
}

void broadcasting() {
  const std::vector<std::vector<Shape>> cases = {{{3, 4}, {4}, {3, 4}}, {{2, 1, 5}, {3, 1}, {2, 3, 5}},
                                                 {{1}, {6, 2}, {6, 2}}, {{4, 1, 3}, {1, 2, 1}, {4, 2, 3}}};
  for (const auto& s : cases) {
    const Vec a = rnd(s[0].numel(), 0.2f, 1.5f), b = rnd(s[1].numel(), 0.2f, 1.5f), g = rnd(s[2].numel());
    const Vec out(s[2].numel());
    for (int k = 0; k < 7; ++k) {
      const std::string name = "binary " + std::to_string(k) + " " + s[2].str();
      same(name, out, [&](bool gpu, Vec& o) {
        K(binary_forward)(Binary(k), a.data(), s[0], b.data(), s[1], s[2], o.data());
      });
      const Vec db0 = rnd(b.size());
      same(name + " backward", rnd(a.size()), [&](bool gpu, Vec& da) {  // da accumulates, db overwrites
        Vec db = db0;
        K(binary_backward)(Binary(k), a.data(), s[0], b.data(), s[1], g.data(), s[2], da.data(), true, db.data(),
                           false);
        da.insert(da.end(), db.begin(), db.end());
      });
    }
    for (int k = 0; k < 6; ++k)
      same("compare " + std::to_string(k), out, [&](bool gpu, Vec& o) {
        K(compare_forward)(Compare(k), a.data(), s[0], b.data(), s[1], s[2], o.data());
      });
    Vec c(a.size());  // where's condition, broadcast like a: about half true
    for (size_t i = 0; i < c.size(); ++i) c[i] = a[i] > 0.85f ? 1.f : 0.f;
    same("select " + s[2].str(), out, [&](bool gpu, Vec& o) {
      K(select_forward)(c.data(), s[0], b.data(), s[1], a.data(), s[0], s[2], o.data());
    }, 0.f);
    for (bool take_true : {true, false})
      for (bool acc : {true, false})
        same("select backward " + s[2].str(), rnd(b.size()), [&](bool gpu, Vec& o) {
          K(select_backward)(c.data(), s[0], g.data(), s[2], take_true, o.data(), s[1], acc);
        });
  }
}

void reductions() {
  const std::vector<std::pair<Shape, uint32_t>> cases = {
      {{4, 5, 6}, 2u}, {{4, 5, 6}, 5u}, {{4, 1, 6}, 1u}, {{7, 3}, 3u}, {{3, 4, 2, 5}, 6u}};
  for (const auto& [shape, axes] : cases) {
    const std::string name = "reduce " + shape.str() + " axes " + std::to_string(axes);
    Shape out;
    for (int i = 0; i < shape.rank; ++i)
      if (!(axes >> i & 1)) out.push(shape.d[i]);
    const Vec x = rnd(shape.numel()), g = rnd(out.numel());
    same(name + " backward", rnd(x.size()),
         [&](bool gpu, Vec& o) { K(reduce_backward)(g.data(), shape, axes, 0.5f, o.data(), true); });
    for (bool max : {true, false}) {
      Vec m(out.numel());
      cpu::reduce_extreme_forward(x.data(), shape, axes, max, m.data());
      same(name + " extreme", m, [&](bool gpu, Vec& o) {
        K(reduce_extreme_forward)(x.data(), shape, axes, max, o.data());
      });
      same(name + " extreme backward", rnd(x.size()), [&](bool gpu, Vec& o) {
        K(reduce_extreme_backward)(x.data(), m.data(), g.data(), shape, axes, o.data(), false);
      });
    }
  }
  const Shape s{3, 5, 4};
  const Vec x = rnd(60);
  for (int axis = 0; axis < 3; ++axis)
    same("arg_extreme " + std::to_string(axis), Vec(), [&](bool gpu, Vec& o) {
      std::vector<int32_t> i(60);
      K(arg_extreme)(x.data(), s, axis, true, i.data());
      o = as_floats(i);
    });
  for (auto [l1, l2] : {std::pair{0.01, 0.0}, {0.0, 0.02}, {0.01, 0.02}})
    for (bool acc : {true, false})
      same("l1_l2_penalty backward", rnd(60), [&](bool gpu, Vec& o) {
        const float g = 0.5f;
        K(l1_l2_penalty_backward)(x.data(), 60, l1, l2, &g, o.data(), acc);
      });
  same("column_sum", rnd(7), [&](bool gpu, Vec& o) { K(column_sum)(x.data(), 8, 7, o.data(), true); });
}

void losses() {
  const int B = 9, C = 5, n = B * C;
  const Vec logits = rnd(n, -3.f, 3.f), probs = rnd(n, 0.f, 1.f), soft = rnd(n, 0.f, 1.f), g = rnd(B), gn = rnd(n);
  Vec y(n);
  cpu::softmax_forward(logits.data(), B, C, y.data());
  same("softmax", Vec(n), [&](bool gpu, Vec& o) { K(softmax_forward)(logits.data(), B, C, o.data()); });
  same("softmax backward", rnd(n), [&](bool gpu, Vec& o) {
    K(softmax_backward)(y.data(), gn.data(), B, C, o.data(), true);
  });
  std::vector<int32_t> labels(B);
  for (int i = 0; i < B; ++i) labels[i] = i % C;
  labels[3] = 77;  // ignore_class
  const Labels l{labels.data(), true};
  for (bool from_logits : {true, false}) {
    const Vec& x = from_logits ? logits : probs;
    const std::string tag = from_logits ? " (logits)" : " (probabilities)";
    Vec p(n), loss(B);
    cpu::sparse_crossentropy_forward(l, 77, x.data(), B, C, from_logits, p.data(), loss.data());
    same("sparse xent" + tag, Vec(B), [&](bool gpu, Vec& o) {
      Vec scratch(n);
      const int64_t bad = K(sparse_crossentropy_forward)(l, 77, x.data(), B, C, from_logits, scratch.data(), o.data());
      o.push_back(float(bad));
    });
    same("sparse xent backward" + tag, rnd(n), [&](bool gpu, Vec& o) {
      K(sparse_crossentropy_backward)(l, 77, x.data(), p.data(), g.data(), B, C, from_logits, o.data(), true);
    });
    Vec pc(n);
    cpu::crossentropy_forward(soft.data(), x.data(), B, C, from_logits, pc.data(), loss.data());
    same("xent" + tag, Vec(B), [&](bool gpu, Vec& o) {
      Vec scratch(n);
      K(crossentropy_forward)(soft.data(), x.data(), B, C, from_logits, scratch.data(), o.data());
    });
    same("xent backward" + tag, Vec(n), [&](bool gpu, Vec& o) {
      K(crossentropy_backward)(soft.data(), x.data(), pc.data(), g.data(), B, C, from_logits, o.data(), false);
    });
    same("xent target backward" + tag, Vec(n), [&](bool gpu, Vec& o) {
      K(crossentropy_target_backward)(x.data(), pc.data(), g.data(), B, C, from_logits, o.data(), false);
    });
    same("bce" + tag, Vec(n), [&](bool gpu, Vec& o) {
      K(binary_crossentropy_forward)(soft.data(), x.data(), n, from_logits, o.data());
    });
    same("bce backward" + tag, Vec(n), [&](bool gpu, Vec& o) {
      K(binary_crossentropy_backward)(soft.data(), x.data(), gn.data(), n, from_logits, o.data(), false);
    });
    same("bce target backward" + tag, Vec(n), [&](bool gpu, Vec& o) {
      K(binary_crossentropy_target_backward)(x.data(), gn.data(), n, from_logits, o.data(), false);
    });
    const Vec pt = rnd(n, 0.05f, 0.95f);
    same("binary focal" + tag, Vec(n), [&](bool gpu, Vec& o) {
      K(binary_focal_forward)(soft.data(), pt.data(), x.data(), n, from_logits, 2.f, 0.25f, true, o.data());
    });
    same("binary focal backward" + tag, rnd(n), [&](bool gpu, Vec& o) {
      Vec dx(n);
      K(binary_focal_backward)(soft.data(), pt.data(), x.data(), gn.data(), n, from_logits, 2.f, 0.25f, true, o.data(),
                               true, dx.data(), false);
      o.insert(o.end(), dx.begin(), dx.end());
    });
    Vec pf(n);
    cpu::categorical_focal_forward(soft.data(), x.data(), B, C, from_logits, 2.f, 0.25f, pf.data(), loss.data());
    same("categorical focal" + tag, Vec(B), [&](bool gpu, Vec& o) {
      Vec scratch(n);
      K(categorical_focal_forward)(soft.data(), x.data(), B, C, from_logits, 2.f, 0.25f, scratch.data(), o.data());
    });
    same("categorical focal backward" + tag, Vec(n), [&](bool gpu, Vec& o) {
      K(categorical_focal_backward)(soft.data(), pf.data(), g.data(), B, C, from_logits, 2.f, 0.25f, o.data(), false);
    });
  }
  same("squared error", Vec(B), [&](bool gpu, Vec& o) {
    K(squared_error_forward)(soft.data(), logits.data(), B, C, o.data());
  });
  same("squared error backward", rnd(n), [&](bool gpu, Vec& o) {
    K(squared_error_backward)(soft.data(), logits.data(), g.data(), B, C, -1.f, o.data(), true);
  });
  Vec onehot(n);
  for (int i = 0; i < n; ++i) onehot[i] = soft[i] > 0.5f;
  same("categorical hinge", Vec(B), [&](bool gpu, Vec& o) {
    K(categorical_hinge_forward)(onehot.data(), logits.data(), B, C, o.data());
  });
  same("categorical hinge backward", Vec(n), [&](bool gpu, Vec& o) {
    K(categorical_hinge_backward)(onehot.data(), logits.data(), g.data(), B, C, o.data(), false);
  });
}

void data_movement() {
  const int32_t state[2] = {12345, 7};
  const Vec x = rnd(1000);
  for (uint64_t first : {0ull, 13ull, 64ull, 200ull})
    same("dropout from " + std::to_string(first), Vec(1000), [&](bool gpu, Vec& o) {
      Vec mask(1000);
      K(dropout_forward)(x.data(), 1000, state, first, 0.7f, o.data(), mask.data());
      o.insert(o.end(), mask.begin(), mask.end());
    }, 0.f);
  for (bool normal : {false, true})
    for (uint64_t first : {0ull, 13ull, 200ull})
      same(std::string("random_fill ") + (normal ? "normal" : "uniform") + " from " + std::to_string(first), Vec(300),
           [&](bool gpu, Vec& o) { K(random_fill)(state, first, 300, normal, o.data()); }, 0.f);
  same("random_advance", Vec(), [&](bool gpu, Vec& o) {
    int32_t s[2] = {1, -1};
    K(random_advance)(s);
    o = {float(s[0]), float(s[1])};
  }, 0.f);
  const Shape src{4, 5, 6}, dst{3, 7, 6};
  const Vec s = rnd(120);
  same("copy_window", rnd(126), [&](bool gpu, Vec& o) {
    K(copy_window)(s.data(), src, Shape{1, 2, 0}, o.data(), dst, Shape{0, 3, 0}, Shape{2, 3, 6}, true);
  });
  const int64_t perm[3] = {2, 0, 1};
  same("transpose", Vec(120), [&](bool gpu, Vec& o) { K(transpose)(s.data(), src, perm, o.data(), false); });
  const Shape xs{2, 3, 2}, ys{4, 3, 6};
  const Vec dy = rnd(72);
  for (bool tile : {true, false}) {
    same(tile ? "tile" : "repeat", Vec(72), [&](bool gpu, Vec& o) {
      K(expand_forward)(s.data(), xs, ys, tile, o.data());
    });
    same(tile ? "tile backward" : "repeat backward", rnd(12),
         [&](bool gpu, Vec& o) { K(expand_backward)(dy.data(), xs, ys, tile, o.data(), true); });
  }
  const int64_t rows[3] = {3, 0, 2};
  same("gather_rows", Vec(18), [&](bool gpu, Vec& o) { K(gather_rows)(s.data(), 24, rows, 3, o.data()); }, 0.f);
  const int V = 6, D = 4, n = 7;
  std::vector<int32_t> ids = {1, 5, 0, 1, 3, 3, 2};
  same("embedding", Vec(n * D), [&](bool gpu, Vec& o) {
    o.push_back(float(K(gather_forward)(s.data(), V, D, Labels{ids.data(), true}, n, o.data())));
  }, 0.f);
  same("embedding backward", rnd(V * D), [&](bool gpu, Vec& o) {
    K(gather_backward)(dy.data(), Labels{ids.data(), true}, n, V, D, o.data(), false);
  });
  ids[4] = 9;  // out of range: both report position 4
  same("embedding bad id", Vec(n * D), [&](bool gpu, Vec& o) {
    o = {float(K(gather_forward)(s.data(), V, D, Labels{ids.data(), true}, n, o.data()))};
  }, 0.f);
}

void layer_norm() {
  const int M = 5, N = 9;
  const Vec x = rnd(M * N), gamma = rnd(N), beta = rnd(N), dy = rnd(M * N);
  Vec stats(2 * M), y(M * N);
  cpu::layer_norm_forward(x.data(), M, N, gamma.data(), beta.data(), 1e-3f, y.data(), stats.data());
  same("layer norm", Vec(M * N), [&](bool gpu, Vec& o) {
    Vec st(2 * M);
    K(layer_norm_forward)(x.data(), M, N, gamma.data(), beta.data(), 1e-3f, o.data(), st.data());
    o.insert(o.end(), st.begin(), st.end());
  });
  same("layer norm backward", rnd(M * N), [&](bool gpu, Vec& o) {
    Vec dgamma(N, 0.5f), dbeta(N);
    K(layer_norm_backward)(x.data(), stats.data(), gamma.data(), dy.data(), M, N, o.data(), true, dgamma.data(), true,
                           dbeta.data(), false);
    o.insert(o.end(), dgamma.begin(), dgamma.end());
    o.insert(o.end(), dbeta.begin(), dbeta.end());
  });
}

ConvGeom geometry(int64_t B, int64_t H, int64_t W, int64_t C, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                  int64_t dh, int64_t dw, int64_t ph, int64_t pw) {
  ConvGeom g{B, H, W, C, 0, 0, kh, kw, sh, sw, dh, dw, ph, pw};
  g.OH = (H + 2 * ph - (dh * (kh - 1) + 1)) / sh + 1;
  g.OW = (W + 2 * pw - (dw * (kw - 1) + 1)) / sw + 1;
  return g;
}

void windows() {
  for (const ConvGeom& g : {geometry(2, 7, 6, 3, 3, 2, 1, 1, 1, 1, 1, 0), geometry(2, 8, 8, 2, 3, 3, 2, 2, 1, 1, 1, 1),
                            geometry(1, 9, 9, 2, 2, 3, 1, 2, 2, 1, 0, 1),
                            geometry(1, 1, 10, 3, 1, 3, 1, 1, 1, 2, 0, 2)}) {
    const std::string name = "window " + std::to_string(g.kh) + "x" + std::to_string(g.kw) + " stride " +
                              std::to_string(g.sw) + " dilation " + std::to_string(g.dw);
    const int64_t R = g.rows(), K = g.patch(), M = 2, CM = g.C * M, X = g.B * g.H * g.W * g.C;
    const Vec x = rnd(X), cols = rnd(R * K), w = rnd(g.kh * g.kw * CM), bias = rnd(CM), dy = rnd(R * CM);
    same(name + " im2col", Vec(R * K), [&](bool gpu, Vec& o) { K(im2col)(g, x.data(), 0, R, o.data()); }, 0.f);
    same(name + " col2im", rnd(X), [&](bool gpu, Vec& o) { K(col2im)(g, cols.data(), 1, R, o.data()); });
    const float fma = 1e-4f;  // the CPU's depthwise loops contract products into FMAs
    same(name + " depthwise", Vec(R * CM),
         [&](bool gpu, Vec& o) { K(depthwise_conv_forward)(g, M, x.data(), w.data(), bias.data(), o.data()); }, fma);
    same(name + " depthwise backward", rnd(X), [&](bool gpu, Vec& o) {
      Vec dw(w.size());
      K(depthwise_conv_backward)(g, M, x.data(), w.data(), dy.data(), o.data(), true, dw.data(), false);
      o.insert(o.end(), dw.begin(), dw.end());
    }, fma);
    same(name + " avg pool", Vec(R * g.C), [&](bool gpu, Vec& o) { K(avg_pool_forward)(g, x.data(), o.data()); });
    same(name + " avg pool backward", rnd(X), [&](bool gpu, Vec& o) {
      K(avg_pool_backward)(g, dy.data(), o.data(), true);
    });
    const ConvGeom p = geometry(g.B, g.H, g.W, g.C, g.kh, g.kw, g.sh, g.sw, 1, 1, 0, 0);
    const int64_t P = p.rows() * p.C;
    std::vector<int32_t> argmax(P);
    Vec pooled(P);
    cpu::max_pool_forward(p, x.data(), pooled.data(), argmax.data());
    same(name + " max pool", Vec(P), [&](bool gpu, Vec& o) {
      std::vector<int32_t> at(P);
      K(max_pool_forward)(p, x.data(), o.data(), at.data());
      for (int32_t a : at) o.push_back(float(a));
    }, 0.f);
    same(name + " max pool backward", rnd(X),
         [&](bool gpu, Vec& o) { K(max_pool_backward)(p, argmax.data(), dy.data(), o.data(), false); });
  }
  const Vec m = rnd(12);
  same("transpose_matrix", Vec(12), [&](bool gpu, Vec& o) { K(transpose_matrix)(m.data(), 3, 4, o.data()); }, 0.f);
  same("fill_rows", Vec(12), [&](bool gpu, Vec& o) { K(fill_rows)(m.data(), 3, 4, o.data()); }, 0.f);
}

void optimizers() {
  for (OptKind kind : {OptKind::sgd, OptKind::rmsprop, OptKind::adam, OptKind::adagrad, OptKind::adadelta,
                       OptKind::adamax, OptKind::nadam, OptKind::lion})
    for (bool variant : {false, true}) {  // momentum, nesterov, centered, amsgrad
      RuleConfig c;
      c.kind = kind;
      c.momentum = variant ? 0.9 : 0.0;
      c.nesterov = c.centered = c.amsgrad = variant;
      const int n = 50;
      const Vec w = rnd(n), g = rnd(n);
      const size_t slots = rule_slots(c).size();
      std::vector<Vec> state(slots);
      for (Vec& s : state) s = rnd(n, 0.01f, 1.f);
      float u_product = 1.f;
      const RuleStep st = step_scalars(c, 0.01f, 3, u_product);
      same("rule " + std::to_string(int(kind)) + (variant ? " with options" : ""), w, [&](bool gpu, Vec& o) {
        std::vector<Vec> s = state;
        RuleSlots ptrs;
        for (size_t j = 0; j < slots; ++j) ptrs.s[j] = s[j].data();
        K(decay_weights)(o.data(), n, 0.004f, &st);
        K(apply_rule)(c, &st, o.data(), g.data(), ptrs, n, 0, n);
        for (const Vec& v : s) o.insert(o.end(), v.begin(), v.end());
      }, 0.f);
    }
}

void metrics() {
  for (int kind = MetricFold::mean; kind <= MetricFold::sparse; ++kind) {
    const bool per_row = kind >= MetricFold::categorical;
    const int B = 11, C = 4;
    MetricFold f;
    f.kind = MetricFold::Kind(kind);
    f.threshold = 0.3f;
    f.samples = B;
    f.per = per_row ? 1 : C;
    f.C = per_row ? C : 1;
    f.block = f.per;
    const Vec p = rnd(B * C, 0.f, 1.f), w = rnd(B, 0.f, 2.f);
    Vec y(kind == MetricFold::sparse ? B : B * C);
    for (size_t i = 0; i < y.size(); ++i)
      y[i] = kind == MetricFold::sparse ? float(i % C) : kind == MetricFold::exact && i % 3 ? p[i] : float(i % 2);
    same("metric fold " + std::to_string(kind), Vec(), [&](bool gpu, Vec& o) {
      double acc[2] = {0.5, 1.0};
      K(metric_fold)(f, Labels{y.data(), false}, p.data(), w.data(), acc);
      o = {float(acc[0]), float(acc[1])};
    }, 1e-6f);
  }
  const float loss = 2.5f;
  same("accumulate_scalar", Vec(), [&](bool gpu, Vec& o) {
    double acc = 1.0;
    K(accumulate_scalar)(&loss, 64.0, &acc);
    o = {float(acc)};
  }, 0.f);
}

}  // namespace

int main() {
  elementwise();
  broadcasting();
  reductions();
  losses();
  data_movement();
  layer_norm();
  windows();
  optimizers();
  metrics();
  std::printf("%d failure(s)\n", failures);
  return failures != 0;
}

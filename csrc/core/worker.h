// Worker: one helper thread that runs a job while the caller runs its own share.
// If the helper has not picked the job up by the time the caller is done with its share (its core
// is busy: another process, another library's spinning threads), the caller runs the job itself, so
// splitting work is never much slower than not splitting it. It spins briefly before sleeping, so
// back-to-back batches hand over in microseconds on an idle core.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include <unistd.h>

namespace fastfit {

class Worker {
 public:
  Worker() : pid_(getpid()), thread_([this] { loop(); }) {}
  ~Worker() {
    {
      std::lock_guard<std::mutex> lk(m_);
      state_ = kQuit;
    }
    cv_.notify_all();
    thread_.join();
  }
  // The worker in `w`, started if missing. A forked child inherits the object but not its thread:
  // that one is dropped (not joined) and a new one started.
  static Worker& ensure(std::unique_ptr<Worker>& w) {
    if (w && w->pid_ != getpid()) (void)w.release();
    if (!w) w = std::make_unique<Worker>();
    return *w;
  }

  // Runs fn(arg) on the helper alongside mine() here; returns when both are done and rethrows the
  // first error either raised.
  template <class F>
  void run_alongside(void (*fn)(void*), void* arg, F&& mine) {
    post(fn, arg);
    std::exception_ptr error;
    try {
      mine();
    } catch (...) {
      error = std::current_exception();
    }
    try {
      finish();
    } catch (...) {
      if (!error) error = std::current_exception();
    }
    if (error) std::rethrow_exception(error);
  }

  // Offer fn(arg) to the helper; call finish() before offering another.
  void post(void (*fn)(void*), void* arg) {
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = fn;
      arg_ = arg;
      error_ = nullptr;
      state_ = kPending;
    }
    cv_.notify_all();
  }
  // The job is done when this returns: by the helper, or here if the helper had not started it.
  // Rethrows what the job threw.
  void finish() {
    int expected = kPending;
    if (state_.compare_exchange_strong(expected, kRunning)) {  // not picked up: run it here
      state_ = kIdle;
      fn_(arg_);
      return;
    }
    if (!spin_until(kDone)) {
      std::unique_lock<std::mutex> lk(m_);
      cv_.wait(lk, [this] { return state_ == kDone; });
    }
    state_ = kIdle;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  enum : int { kIdle, kPending, kRunning, kDone, kQuit };
  // Spin up to ~200 us (the gap between batches, or between eager calls from Python) before sleeping.
  bool spin_until(int s) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    for (int i = 1;; ++i) {
      if (state_.load(std::memory_order_acquire) == s) return true;
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
      if (i % 64 == 0 && std::chrono::steady_clock::now() > deadline) return false;
    }
  }
  void loop() {
    for (;;) {
      if (!spin_until(kPending)) {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [this] { return state_ == kPending || state_ == kQuit; });
      }
      int expected = kPending;
      if (!state_.compare_exchange_strong(expected, kRunning)) {
        if (expected == kQuit) return;
        continue;  // the caller took the job back
      }
      try {
        fn_(arg_);
      } catch (...) {
        error_ = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lk(m_);
        state_.store(kDone, std::memory_order_release);
      }
      cv_.notify_all();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<int> state_{kIdle};
  void (*fn_)(void*) = nullptr;
  void* arg_ = nullptr;
  std::exception_ptr error_;
  const pid_t pid_;
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace fastfit

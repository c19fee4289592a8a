// Worker: one helper thread that runs a job while the caller runs its own share, then joins.
// It spins briefly before sleeping, so back-to-back batches hand over in microseconds on an idle
// core, yet it yields the core when the machine is busy.
#pragma once
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include <unistd.h>

namespace fastfit {

class Worker {
 public:
  Worker() : pid_(getpid()), thread_([this] { loop(); }) {}
  // A forked child inherits this object but not its thread: it must start a new worker.
  bool usable() const { return pid_ == getpid(); }
  ~Worker() {
    {
      std::lock_guard<std::mutex> lk(m_);
      state_ = kQuit;
    }
    cv_.notify_all();
    thread_.join();
  }
  // Start fn(arg) on the worker; call wait() before starting another.
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
  // Wait for the posted job; rethrows what it threw.
  void wait() {
    if (!spin_until(kDone)) {
      std::unique_lock<std::mutex> lk(m_);
      cv_.wait(lk, [this] { return state_ == kDone; });
    }
    state_ = kIdle;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  enum : int { kIdle, kPending, kDone, kQuit };
  bool spin_until(int s) const {
    for (int i = 0; i < 4000; ++i) {  // about 20-50 us
      if (state_.load(std::memory_order_acquire) == s) return true;
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    }
    return false;
  }
  void loop() {
    for (;;) {
      if (!spin_until(kPending)) {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [this] { return state_ == kPending || state_ == kQuit; });
      }
      if (state_ == kQuit) return;
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

// Failures of C# callbacks (custom backward rules) on their way back through LibTorch to the C# caller.
//
// A callback never lets a C# exception cross into native code: it catches it, keeps it in a C# table under an id,
// and returns a failure status after calling eqx_callback_failed with its message. The native code then throws
// ManagedFailure, which LibTorch's autograd engine carries (as an exception_ptr, type preserved) to the export that
// started the backward pass; that export records the id next to the message, so C# can rethrow the original.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace eqx {

struct ManagedFailure : std::runtime_error {
  int64_t id;
  ManagedFailure(const std::string& message, int64_t failure_id) : std::runtime_error(message), id(failure_id) {}
};

// The message and id a callback reported on this thread (eqx_callback_failed), taken once.
ManagedFailure take_callback_failure();

// Records the failure id of the last failed export on this thread (0: not a callback's failure).
void set_failure_id(int64_t id);

}  // namespace eqx

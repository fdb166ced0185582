package cambmock

import (
	"log/slog"
	"slices"
)

// Status is the status of a task of any kind, as the status endpoints
// report it in TaskStatusResponse.status.
type Status string

// The statuses openapi.yaml declares (schema TaskStatus). Every status but
// PENDING is terminal.
const (
	StatusPending         Status = "PENDING"
	StatusSuccess         Status = "SUCCESS"
	StatusError           Status = "ERROR"
	StatusTimeout         Status = "TIMEOUT"
	StatusPaymentRequired Status = "PAYMENT_REQUIRED"
)

// StatusFailed is the status camb.ai's text-to-sound sample code checks for
// and no other source lists. It is not in openapi.yaml; cambmock serves it
// only in off-spec scenarios.
const StatusFailed Status = "FAILED"

// Statuses returns the statuses the embedded openapi.yaml declares, in
// its order.
//
// Deprecated: the statuses come from the spec in force; use [Spec.Statuses].
func Statuses() []Status {
	return []Status{StatusSuccess, StatusPending, StatusTimeout, StatusError, StatusPaymentRequired}
}

// Known reports whether the embedded openapi.yaml declares s.
//
// Deprecated: use [Spec.KnownStatus], which reads the spec in force.
func (s Status) Known() bool { return slices.Contains(Statuses(), s) }

// Terminal reports whether a task with status s is finished by the
// embedded openapi.yaml: every status but PENDING is.
//
// Deprecated: use [Spec.Terminal], which reads x-in-progress-statuses of
// the spec in force.
func (s Status) Terminal() bool { return s != StatusPending }

// ExceptionReason says why a task failed (TaskStatusResponse.exception_reason).
// The API may send reasons openapi.yaml does not list.
type ExceptionReason string

// ExceptionReasons returns the reasons the embedded openapi.yaml lists
// (schema ExceptionReason), in its order.
//
// Deprecated: use [Spec.ExceptionReasons].
func ExceptionReasons() []ExceptionReason {
	return []ExceptionReason{
		"HARMFUL_CONTENT_DETECTED", "VOICE_CONVERSION_ERROR", "PROCESSING_ERROR",
		"SOURCE_TOO_LONG", "SOURCE_TOO_LARGE", "SOURCE_TYPE_NOT_SUPPORTED",
		"ERROR_DOWNLOADING_SOURCE", "TOO_MANY_GDRIVE_REQUESTS", "SOURCE_BLOCKED_IN_REGION",
		"SOURCE_IS_AGE_RESTRICTED", "SOURCE_NOT_FOUND", "MISMATCHED_SOURCE_CODEC",
		"CONTENT_DOES_NOT_MATCH_EXTENSION", "INVALID_SOURCE_DATA",
		"VIDEO_DOES_NOT_HAVE_AUDIO_STREAMS", "MASTERING_OUT_OF_RANGE",
		"INVALID_AUDIO_TRACKS_SELECTION", "PAYMENT_REQUIRED", "FORBIDDEN",
		"INTERNAL_ERROR", "NONE",
	}
}

// Known reports whether the embedded openapi.yaml lists r.
//
// Deprecated: use [Spec.KnownReason].
func (r ExceptionReason) Known() bool { return slices.Contains(ExceptionReasons(), r) }

// APIKey is a camb.ai API key. Its String and LogValue methods redact it,
// so a key that reaches a log line or an error by mistake shows as
// "[redacted]"; use string(k) where the key itself is needed.
type APIKey string

// String returns "[redacted]", or "" for an empty key.
func (k APIKey) String() string {
	if k == "" {
		return ""
	}
	return "[redacted]"
}

// LogValue redacts the key in log/slog output.
func (k APIKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// GoString redacts the key in %#v output.
func (k APIKey) GoString() string { return `cambmock.APIKey("` + k.String() + `")` }

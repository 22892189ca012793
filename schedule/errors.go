package schedule

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors that adapters return and the API maps to statuses.
var (
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrVersionMismatch = errors.New("version mismatch")
	ErrUnavailable     = errors.New("unavailable")
	ErrRetryable       = errors.New("retryable")
	// ErrKeyReused is returned when an idempotency key comes back with a
	// different request body.
	ErrKeyReused = errors.New("idempotency key reused")
)

// FieldError is one problem with one request field. Pointer is the JSON
// pointer of the field (RFC 6901), such as "/target/topics/0".
type FieldError struct {
	Pointer string `json:"pointer"`
	Message string `json:"detail"`
}

// ValidationError is a rejected request with one or more field errors.
type ValidationError struct {
	Fields []FieldError
}

// Error joins the field errors into one line.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Pointer + ": " + f.Message
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

// Add appends a field error with a formatted message.
func (e *ValidationError) Add(pointer, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Pointer: pointer, Message: fmt.Sprintf(format, args...)})
}

// Err returns e when it holds at least one field error, and nil otherwise.
func (e *ValidationError) Err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Invalid returns a ValidationError with a single field error.
func Invalid(pointer, format string, args ...any) error {
	var e ValidationError
	e.Add(pointer, format, args...)
	return &e
}

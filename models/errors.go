package models

import (
	"errors"
	"fmt"
)

// Error codes of errors a user can act on.
const (
	ENotFound  = "not_found" // the ticket or person does not exist
	EConflict  = "conflict"  // the ticket's state forbids the action
	EForbidden = "forbidden" // the caller may not do this
	EInvalid   = "invalid"   // the input is wrong
	EInternal  = "internal"  // our fault; the user sees an apology
)

// Error is an error a user can act on: it carries a code and a short
// Chinese message that is shown as it is.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf builds a user-facing error with a code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of a user-facing error, EInternal otherwise.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the Chinese message of a user-facing error, or ""
// for an internal one (which the caller logs and answers with an apology).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

package importcsv

import (
	"errors"
	"fmt"
)

// Error names at the Lambda boundary (eventfactory.ErrorName reports them;
// the import state machine's Retry and Catch match them).
const (
	// ErrorNameImportFailed is the error of an import execution whose job
	// ended FAILED.
	ErrorNameImportFailed = "ImportFailed"
	// ErrorNameFile is the name of *FileError.
	ErrorNameFile = "ImportFileError"
	// ErrorNameBusy is the name of *BusyError, which the state machine
	// retries.
	ErrorNameBusy = "ImportBusyError"
)

// Sentinel errors; the typed errors below match them with errors.Is.
var (
	// ErrFile: a file cannot be imported at all (empty, no usable header,
	// unreadable): a job-level error, no row is imported from it.
	ErrFile = errors.New("importcsv: file cannot be imported")
	// ErrRow: one row cannot be imported; the row is failed, the others
	// go on.
	ErrRow = errors.New("importcsv: row cannot be imported")
	// ErrUnknownModule: no strategy is registered for the target module.
	ErrUnknownModule = errors.New("importcsv: no strategy for the module")
	// ErrBusy: the job is being changed by another step; retried.
	ErrBusy = errors.New("importcsv: job busy")
)

// FileError says why a file cannot be imported (a job-level error): an
// empty file, a header with duplicate or empty names, a header that is not
// UTF-8 text, malformed quoting in step-function mode, a record larger than
// Settings.MaxRowBytes, a read error. It matches ErrFile.
type FileError struct {
	// File is the file's name (a ZIP entry's name, or the object key).
	File string
	// Line is the line where the problem is (0: none in particular).
	Line int
	// Reason says what is wrong, for a person.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

func (e *FileError) Error() string {
	s := "importcsv: "
	if e.File != "" {
		s += e.File + ": "
	}
	if e.Line > 0 {
		s += fmt.Sprintf("line %d: ", e.Line)
	}
	s += e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrFile and the underlying error.
func (e *FileError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrFile}
	}
	return []error{ErrFile, e.Err}
}

// ErrorName returns ErrorNameFile.
func (e *FileError) ErrorName() string { return ErrorNameFile }

// RowError says why one row cannot be read or imported. It matches ErrRow
// and unwraps to the cause (a *core.ValidationError from Validate, a
// *core.VersionConflictError from the command service, …).
type RowError struct {
	// Row is the row number (see Row.Number).
	Row int
	// Line is the line the row starts on (0 when unknown: rows read by
	// the Distributed Map).
	Line int
	// Reason says what is wrong, for a person.
	Reason string
	// Err is the cause, if any.
	Err error
	// quoting marks malformed quoting (see quoteProblem).
	quoting bool
}

func (e *RowError) Error() string {
	s := fmt.Sprintf("importcsv: row %d", e.Row)
	if e.Line > 0 {
		s += fmt.Sprintf(" (line %d)", e.Line)
	}
	return s + ": " + e.Reason
}

// Unwrap returns ErrRow and the cause.
func (e *RowError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrRow}
	}
	return []error{ErrRow, e.Err}
}

// UnknownModuleError: a job names a module without a registered strategy.
// It matches ErrUnknownModule.
type UnknownModuleError struct {
	Module string
}

func (e *UnknownModuleError) Error() string {
	return fmt.Sprintf("importcsv: no strategy registered for module %q", e.Module)
}

// Unwrap returns ErrUnknownModule.
func (e *UnknownModuleError) Unwrap() error { return ErrUnknownModule }

// BusyError: a step found the job or file changing under it; the state
// machine retries it. It matches ErrBusy.
type BusyError struct {
	What string
}

func (e *BusyError) Error() string { return "importcsv: " + e.What + " kept changing" }

// Unwrap returns ErrBusy.
func (e *BusyError) Unwrap() error { return ErrBusy }

// ErrorName returns ErrorNameBusy.
func (e *BusyError) ErrorName() string { return ErrorNameBusy }

// maxReason bounds a stored reason, so that outcome records stay small.
const maxReason = 512

// reasonText is the stored text of a reason: cut to maxReason bytes on a
// UTF-8 boundary.
func reasonText(s string) string {
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes cut)", len(s)-cut)
}

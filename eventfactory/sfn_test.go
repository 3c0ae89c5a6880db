package eventfactory

import "testing"

func TestSFNErrorText(t *testing.T) {
	for _, c := range []struct {
		err  *SFNError
		want string
	}{
		{nil, "unknown error"},
		{&SFNError{Error: "HandlerError", Cause: `{"errorMessage":"sync handler \"x\": down","errorType":"HandlerError","stackTrace":[]}`}, `HandlerError: sync handler "x": down`},
		{&SFNError{Error: "States.Timeout", Cause: "Task timed out"}, "States.Timeout: Task timed out"},
		{&SFNError{Error: "States.TaskFailed"}, "States.TaskFailed"},
		{&SFNError{Cause: "only a cause"}, "only a cause"},
		{&SFNError{Error: "E", Cause: `{"other":"json"}`}, `E: {"other":"json"}`},
		{&SFNError{Error: "E", Cause: `{not json`}, `E: {not json`},
	} {
		if got := c.err.Text(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.err, got, c.want)
		}
	}
}

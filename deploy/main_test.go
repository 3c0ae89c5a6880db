package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
)

// TestMain points moto's request recorder (off until a test starts it) at
// a file of this test binary, so that it never writes into the package
// directory, and stops moto at the end.
func TestMain(m *testing.M) {
	rec := filepath.Join(os.TempDir(), fmt.Sprintf("stepcqrs-deploy-moto-%d.jsonl", os.Getpid()))
	os.Setenv("MOTO_RECORDER_FILEPATH", rec)
	defer os.Remove(rec)
	endpointtest.Main(m)
}

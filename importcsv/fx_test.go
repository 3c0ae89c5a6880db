package importcsv_test

import (
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/local"
)

// TestModule builds the import service from fx modules, as production
// does, on the embedded runtime: its steps are routed, and a
// step-function import runs.
func TestModule(t *testing.T) {
	rt := newRuntime(t, nil, func(o *local.Options) {
		o.Imports = &local.ImportOptions{}
		o.App = fx.Options(
			fx.Supply(command.NewRegistry().Register("order"), registry()),
			command.Module,
			importcsv.Module,
		)
	})
	if rt.Imports() == nil {
		t.Fatal("the runtime has no import service")
	}
	d := importFile(t, rt, importcsv.ModeStepFunction, "fx.csv", "code,name\na,one\nb,two\n")
	if d.Job.Status != importcsv.StatusCompleted || d.Job.Counts != (importcsv.Counts{Total: 2, Created: 2}) {
		t.Fatalf("job %s %+v (%s)", d.Job.Status, d.Job.Counts, d.Job.Reason)
	}
}

// TestModuleChecksModules: a strategy for a module without a command
// service fails the application's start.
func TestModuleChecksModules(t *testing.T) {
	reg := importcsv.NewRegistry()
	importcsv.Register(reg, "invoice", importcsv.Strategy[map[string]any]{Type: "INVOICE"})
	_, err := local.New(bg, local.Options{Modules: []string{"order"}, Imports: &local.ImportOptions{},
		App: fx.Options(fx.Supply(command.NewRegistry().Register("order"), reg), command.Module, importcsv.Module)})
	if err == nil || !strings.Contains(err.Error(), `a strategy is registered for module "invoice", which has no command service`) {
		t.Fatalf("err %v", err)
	}
}

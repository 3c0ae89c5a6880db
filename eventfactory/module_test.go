package eventfactory_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

type greeter struct{ greeted []string }

func TestModuleBuildsFromGroup(t *testing.T) {
	var d *eventfactory.Dispatcher
	var h eventfactory.HandlerFunc
	g := &greeter{}
	app := fxtest.New(t,
		eventfactory.Module,
		fx.Supply(eventfactory.Config{Unrouted: eventfactory.UnroutedSkip, Logger: slog.New(slog.DiscardHandler)}),
		fx.Supply(g),
		fx.Provide(
			eventfactory.AsRegistration(func(g *greeter) eventfactory.Registration {
				return func(r *eventfactory.Router) {
					eventfactory.OnSQS(r, "greetings", func(ctx context.Context, m eventfactory.SQSMessage[string]) error {
						g.greeted = append(g.greeted, m.Body)
						return nil
					})
				}
			}),
			eventfactory.AsRegistration(func() eventfactory.Registration {
				return func(r *eventfactory.Router) {
					eventfactory.OnStepFunctions(r, "hello", "greet", func(ctx context.Context, task eventfactory.SFNTask[string]) (string, error) {
						return "hello " + task.Input, nil
					})
				}
			}),
		),
		fx.Populate(&d, &h),
	)
	app.RequireStart()
	defer app.RequireStop()

	out, err := h(context.Background(), []byte(`{"Records":[{"messageId":"1","body":"bob","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:greetings"}]}`))
	if err != nil || len(g.greeted) != 1 || g.greeted[0] != "bob" {
		t.Fatalf("%v %v %v", out, err, g.greeted)
	}
	out, err = d.Dispatch(context.Background(), []byte(`{"input":"ann","context":{"StateMachine":{"Name":"hello"},"State":{"Name":"greet"}}}`))
	if err != nil || out != "hello ann" {
		t.Fatalf("%v %v", out, err)
	}
	// Config was supplied: unknown payloads are skipped.
	if out, err := d.Dispatch(context.Background(), []byte(`{"what":1}`)); out != nil || err != nil {
		t.Fatalf("%v %v", out, err)
	}
}

func TestModuleRegistrationProblemsFailStart(t *testing.T) {
	app := fx.New(
		fx.NopLogger,
		eventfactory.Module,
		fx.Provide(
			eventfactory.AsRegistration(func() eventfactory.Registration {
				return func(r *eventfactory.Router) {
					h := func(context.Context, eventfactory.SFNTask[any]) (any, error) { return nil, nil }
					eventfactory.OnStepFunctions(r, "m", "s", h)
					eventfactory.OnStepFunctions(r, "m", "s", h)
					eventfactory.OnSQS[string](r, "", nil)
				}
			}),
		),
		fx.Invoke(func(*eventfactory.Dispatcher) {}),
	)
	err := app.Err()
	if err == nil {
		t.Fatal("app built with a duplicate task handler")
	}
	if !errors.Is(err, core.ErrValidation) || !strings.Contains(err.Error(), "registered twice") || !strings.Contains(err.Error(), "nil handler") {
		t.Errorf("err = %v", err)
	}
}

func TestModuleWithoutRegistrations(t *testing.T) {
	var d *eventfactory.Dispatcher
	app := fxtest.New(t, eventfactory.Module,
		fx.Supply(slog.New(slog.DiscardHandler)), fx.Populate(&d))
	app.RequireStart().RequireStop()
	if _, err := d.Dispatch(context.Background(), []byte(`{"x":1}`)); !errors.Is(err, eventfactory.ErrUnknownSource) {
		t.Errorf("err = %v", err)
	}
}

// TestModuleTenantFromCoreConfig: without Config.Invoke, HTTP requests are
// resolved by the core.Config of the graph (core.Module's, or the embedded
// runtime's): here its fallback mode lets a function URL caller, whose IAM
// credentials carry no claims, name its tenant in a header.
func TestModuleTenantFromCoreConfig(t *testing.T) {
	payload, err := os.ReadFile("testdata/function-url.json") // x-tenant-code: acme
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode core.TenantHeaderMode
		want string
	}{{core.TenantHeaderFallback, "acme"}, {"", ""}} {
		var d *eventfactory.Dispatcher
		var got core.Invoke
		app := fxtest.New(t, eventfactory.Module,
			fx.Supply(core.Config{TenantHeaderMode: c.mode}, slog.New(slog.DiscardHandler)),
			fx.Provide(eventfactory.AsRegistration(func() eventfactory.Registration {
				return func(r *eventfactory.Router) {
					eventfactory.OnHTTP(r, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						got, _ = core.FromContext(r.Context())
					}))
				}
			})),
			fx.Populate(&d))
		app.RequireStart()
		if _, err := d.Dispatch(context.Background(), payload); err != nil || got.TenantCode != c.want || !got.External {
			t.Errorf("mode %q: %v, invoke %+v", c.mode, err, got)
		}
		app.RequireStop()
	}
}

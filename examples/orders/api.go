package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// The REST API of the orders service, served by the event factory's HTTP
// ingress (API Gateway REST or HTTP API, or a function URL):
//
//	POST  /orders          create: {"code", "name", "attributes"} → 201
//	GET   /orders          list: ?limit=1..100 (20) &cursor= → {"items", "cursor"}
//	GET   /orders/{code}   read → 200, ETag "version"
//	PUT   /orders/{code}   replace: {"version", "name", "attributes", "deleted"} → 200
//	PATCH /orders/{code}   change: {"version", "name"?, "attributes"? (merged), "deleted"?} → 200
//
// Every request acts for the tenant of the caller's credentials (the
// core.Invoke the event factory puts in the request's context): the
// "custom:tenant" claim of a Cognito or JWT authorizer. A function URL
// with IAM auth carries no claims; its callers can name the tenant in the
// x-tenant-code header only with STEPCQRS_TENANT_HEADER_MODE=fallback,
// which trusts every caller the authorizer lets through. Writes
// are applied synchronously (PublishSync): the answer holds the new
// version, readable at once. With "Prefer: respond-async" they are
// published asynchronously and answered 202; the command state machine
// applies them. Errors: 400 invalid input, 403 tenant not allowed, 404 not
// found, 409 version conflict, 413 body too large.

// orderType is the type part of the orders' keys.
const orderType = "ORDER"

// maxBody caps request bodies.
const maxBody = 256 << 10

// Order is an order as the API shows it.
type Order struct {
	Code       string          `json:"code"`
	Name       string          `json:"name"`
	Version    int64           `json:"version"`
	Deleted    bool            `json:"deleted"`
	Attributes core.Attributes `json:"attributes"`
	CreatedAt  *time.Time      `json:"createdAt,omitempty"`
	CreatedBy  string          `json:"createdBy,omitempty"`
	UpdatedAt  *time.Time      `json:"updatedAt,omitempty"`
	UpdatedBy  string          `json:"updatedBy,omitempty"`
}

// OrderPage is a page of the order list; Cursor is empty on the last page.
type OrderPage struct {
	Items  []Order `json:"items"`
	Cursor string  `json:"cursor,omitempty"`
}

// createRequest is the body of POST /orders.
type createRequest struct {
	Code       string          `json:"code"`
	Name       string          `json:"name"`
	Attributes core.Attributes `json:"attributes"`
}

// replaceRequest is the body of PUT /orders/{code}.
type replaceRequest struct {
	Version    int64           `json:"version"`
	Name       string          `json:"name"`
	Attributes core.Attributes `json:"attributes"`
	Deleted    bool            `json:"deleted"`
}

// patchRequest is the body of PATCH /orders/{code}.
type patchRequest struct {
	Version    int64          `json:"version"`
	Name       *string        `json:"name"`
	Attributes map[string]any `json:"attributes"`
	Deleted    *bool          `json:"deleted"`
}

// api serves the REST API over the order module's command service.
type api struct {
	svc *command.Service
	log *slog.Logger
}

// newAPI returns the orders REST API.
func newAPI(svc *command.Service, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	a := &api{svc: svc, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", a.create)
	mux.HandleFunc("GET /orders", a.list)
	mux.HandleFunc("GET /orders/{code}", a.get)
	mux.HandleFunc("PUT /orders/{code}", a.replace)
	mux.HandleFunc("PATCH /orders/{code}", a.patch)
	return mux
}

// apiParams are what the API takes from the fx graph.
type apiParams struct {
	fx.In
	Services map[string]*command.Service
	Logger   *slog.Logger `optional:"true"`
}

// httpRoutes registers the API on the event factory.
func httpRoutes(p apiParams) (eventfactory.Registration, error) {
	svc := p.Services[orderModule]
	if svc == nil {
		return nil, fmt.Errorf("orders: no %q command service", orderModule)
	}
	h := newAPI(svc, p.Logger)
	return func(r *eventfactory.Router) { eventfactory.OnHTTP(r, h) }, nil
}

func (a *api) create(w http.ResponseWriter, r *http.Request) {
	var in createRequest
	if !a.decode(w, r, &in) {
		return
	}
	key, err := a.key(r.Context(), in.Code)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	publish(a, w, r, http.StatusCreated, command.Input{PK: key.PK, SK: key.SK, Version: core.VersionNew,
		Name: in.Name, Attributes: in.Attributes}, a.svc.PublishSync, a.svc.PublishAsync)
}

func (a *api) replace(w http.ResponseWriter, r *http.Request) {
	var in replaceRequest
	key, ok := a.change(w, r, &in, func() int64 { return in.Version })
	if !ok {
		return
	}
	publish(a, w, r, http.StatusOK, command.Input{PK: key.PK, SK: key.SK, Version: in.Version,
		Name: in.Name, Attributes: in.Attributes, IsDeleted: in.Deleted}, a.svc.PublishSync, a.svc.PublishAsync)
}

func (a *api) patch(w http.ResponseWriter, r *http.Request) {
	var in patchRequest
	key, ok := a.change(w, r, &in, func() int64 { return in.Version })
	if !ok {
		return
	}
	publish(a, w, r, http.StatusOK, command.PartialInput{PK: key.PK, SK: key.SK, Version: in.Version, Name: in.Name,
		Attributes: in.Attributes, IsDeleted: in.Deleted}, a.svc.PublishPartialUpdateSync, a.svc.PublishPartialUpdateAsync)
}

// change decodes the body of a change of /orders/{code} into in, checks
// the version it is based on and returns the order's key. On failure it
// answers and returns false.
func (a *api) change(w http.ResponseWriter, r *http.Request, in any, version func() int64) (core.Key, bool) {
	if !a.decode(w, r, in) {
		return core.Key{}, false
	}
	key, err := a.key(r.Context(), r.PathValue("code"))
	if err == nil {
		err = checkVersion(version())
	}
	if err != nil {
		a.fail(w, r, err)
		return core.Key{}, false
	}
	return key, true
}

// publish writes a command with sync, or with async when the client
// prefers an asynchronous answer, and answers with the result.
func publish[In any](a *api, w http.ResponseWriter, r *http.Request, status int, in In, sync, async func(context.Context, In) (command.Result, error)) {
	publish := sync
	isAsync := preferAsync(r)
	if isAsync {
		publish = async
	}
	res, err := publish(r.Context(), in)
	a.answer(w, r, status, isAsync, res, err)
}

func (a *api) answer(w http.ResponseWriter, r *http.Request, status int, async bool, res command.Result, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c := res.Command
	w.Header().Set("Location", "/orders/"+url.PathEscape(c.Code))
	w.Header().Set("ETag", etag(c.Version))
	if async && !res.Unchanged {
		w.Header().Set("Preference-Applied", "respond-async")
		status = http.StatusAccepted
	}
	o := Order{Code: c.Code, Name: c.Name, Version: c.Version, Deleted: c.IsDeleted, Attributes: c.Attributes,
		CreatedAt: timePtr(c.CreatedAt), CreatedBy: c.CreatedBy, UpdatedAt: timePtr(c.UpdatedAt), UpdatedBy: c.UpdatedBy}
	writeJSON(w, status, o)
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	key, err := a.key(r.Context(), r.PathValue("code"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.svc.GetData(r.Context(), key, true)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(d.Version))
	writeJSON(w, http.StatusOK, orderOf(d))
}

func (a *api) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 20
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			a.fail(w, r, &core.ValidationError{Problems: []string{fmt.Sprintf("limit %q: want 1 to 100", s)}})
			return
		}
		limit = n
	}
	tenant, err := tenantOf(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	pk, err := core.NewPK(orderType, tenant)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page, err := a.svc.ListData(r.Context(), command.ListInput{PK: pk, Op: core.SKBeginsWith, SK: orderType + core.KeySeparator,
		Limit: limit, Cursor: q.Get("cursor")})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := OrderPage{Items: make([]Order, 0, len(page.Items)), Cursor: page.Cursor}
	for i := range page.Items {
		out.Items = append(out.Items, orderOf(&page.Items[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

// key is the key of the order code of the caller's tenant.
func (a *api) key(ctx context.Context, code string) (core.Key, error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return core.Key{}, err
	}
	if code == "" {
		return core.Key{}, &core.ValidationError{Problems: []string{"code is empty"}}
	}
	return core.NewKey(orderType, tenant, code)
}

// tenantOf is the tenant the caller acts for.
func tenantOf(ctx context.Context) (string, error) {
	inv, _ := core.FromContext(ctx)
	if inv.TenantCode == "" {
		return "", &core.TenantError{Reason: "the caller's credentials name no tenant"}
	}
	return inv.TenantCode, nil
}

func checkVersion(v int64) error {
	if v < 1 {
		return &core.ValidationError{Problems: []string{fmt.Sprintf("version %d: give the version the change is based on (1 or more)", v)}}
	}
	return nil
}

// preferAsync reports whether the client asked for an asynchronous answer
// (RFC 7240).
func preferAsync(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		if v == "respond-async" {
			return true
		}
	}
	return false
}

// decode reads a JSON body into v; on failure it answers and returns
// false.
func (a *api) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", tooBig.Limit))
		return false
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("empty body")
	}
	writeError(w, http.StatusBadRequest, "body: "+err.Error())
	return false
}

// fail answers err with its status: 400 invalid input, 403 tenant not
// allowed, 404 not found (also a change of an order that does not exist),
// 409 version conflict (or an earlier version still being applied), 500
// anything else (logged, not shown).
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	var conflict *core.VersionConflictError
	switch {
	case errors.As(err, &conflict) && conflict.Latest == 0:
		// A change based on a version of an order that has none.
		status, err = http.StatusNotFound, &core.NotFoundError{Kind: "order", Name: conflict.ID}
	case errors.Is(err, core.ErrTenantNotAllowed):
		status = http.StatusForbidden
	case errors.Is(err, core.ErrVersionConflict):
		status = http.StatusConflict
	case errors.Is(err, core.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, core.ErrValidation), errors.Is(err, core.ErrInvalidKey):
		status = http.StatusBadRequest
	}
	msg := err.Error()
	if status == http.StatusInternalServerError {
		a.log.ErrorContext(r.Context(), "orders api: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		msg = http.StatusText(status)
	}
	writeError(w, status, msg)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func orderOf(d *core.Data) Order {
	return Order{Code: d.Code, Name: d.Name, Version: d.Version, Deleted: d.IsDeleted, Attributes: d.Attributes,
		CreatedAt: timePtr(d.CreatedAt), CreatedBy: d.CreatedBy, UpdatedAt: timePtr(d.UpdatedAt), UpdatedBy: d.UpdatedBy}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func etag(v int64) string { return strconv.Quote(strconv.FormatInt(v, 10)) }

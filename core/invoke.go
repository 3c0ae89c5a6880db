package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Invoke describes who and what caused the current invocation: the audit
// facts a command records (createdBy/updatedBy from UserID, createdIp/
// updatedIp from SourceIP, requestId from RequestID) and the tenant it acts
// for. It travels in a context.Context: see NewContext and FromContext.
//
// Fill it with InvokeFromLambda for invocations without a caller identity
// (streams, queues, Step Functions) or with an InvokeResolver (or the
// InvokeFromHTTPAPI and InvokeFromREST shortcuts) for API Gateway requests.
type Invoke struct {
	// RequestID is the Lambda request id (lambdacontext AwsRequestID). When
	// the context carries no Lambda context it is the API Gateway request id.
	RequestID string
	// APIRequestID is the API Gateway request id (requestContext.requestId),
	// empty outside API Gateway.
	APIRequestID string
	// TenantCode is the tenant the caller acts for, lower-cased (tenant codes
	// are case-insensitive, as in the reference framework). Empty when the
	// request names none.
	TenantCode string
	// UserID is the caller's stable id: the JWT "sub" claim.
	UserID string
	// Username is the caller's display name: the "cognito:username" claim,
	// else the "username" claim of an access token.
	Username string
	// SourceIP is the client address API Gateway saw
	// (requestContext.http.sourceIp for HTTP APIs,
	// requestContext.identity.sourceIp for REST APIs).
	SourceIP string
	// External is true for an Invoke built from an HTTP request (an
	// InvokeResolver sets it): an outside caller, whom AuthorizeTenant
	// holds to the tenant of its credentials. Invocations by a stream, a
	// queue, a schedule or Step Functions (InvokeFromLambda) are the
	// service acting for itself and leave it false.
	External bool
	// Claims holds every authorizer claim (or Lambda authorizer context
	// value) as a string; non-string values are JSON-encoded. Application
	// claims such as "custom:roles" are read from here. Nil without an
	// authorizer.
	Claims map[string]string
}

// invokeKey is the context key of an Invoke. Being unexported, no other
// package can read or overwrite the value except through NewContext and
// FromContext.
type invokeKey struct{}

// NewContext returns a copy of ctx that carries inv.
func NewContext(ctx context.Context, inv Invoke) context.Context {
	return context.WithValue(ctx, invokeKey{}, inv)
}

// FromContext returns the Invoke stored in ctx by NewContext, and whether
// there was one.
func FromContext(ctx context.Context) (Invoke, bool) {
	inv, ok := ctx.Value(invokeKey{}).(Invoke)
	return inv, ok
}

// ErrTenantNotAllowed: the request asks for a tenant its credentials do not
// grant. It is the sentinel of *TenantError.
var ErrTenantNotAllowed = errors.New("stepcqrs: tenant not allowed")

// TenantError says which requested tenant was refused and why. It matches
// ErrTenantNotAllowed.
type TenantError struct {
	Requested string // the tenant code the request asked for
	Reason    string
}

func (e *TenantError) Error() string {
	return fmt.Sprintf("stepcqrs: tenant %q not allowed: %s", e.Requested, e.Reason)
}

// Unwrap returns ErrTenantNotAllowed.
func (e *TenantError) Unwrap() error { return ErrTenantNotAllowed }

// AuthorizeTenant is the tenant rule that every read and write of
// tenant-owned rows applies, on the write side and on every read side
// alike. tenant is the tenant code of the rows (the tenant part of their
// partition key). The rule, by what ctx carries:
//
//   - an Invoke with a TenantCode: tenant must equal it;
//   - an External Invoke without a TenantCode (an HTTP caller whose
//     credentials name no tenant, or several with none chosen): refused;
//   - any other Invoke (a stream, queue, schedule or Step Functions
//     invocation, see InvokeFromLambda): allowed: the service acts for
//     every tenant;
//   - no Invoke at all: allowed, unless requireInvoke
//     (Config.RequireInvoke), which refuses it. Services reached from
//     outside should set it, so that a handler that forgot to put the
//     caller's Invoke into the context fails closed.
//
// A refusal is a *TenantError.
func AuthorizeTenant(ctx context.Context, tenant string, requireInvoke bool) error {
	inv, ok := FromContext(ctx)
	switch {
	case !ok && requireInvoke:
		return &TenantError{Requested: tenant, Reason: "the context carries no Invoke (Config.RequireInvoke is set)"}
	case !ok:
		return nil
	case inv.TenantCode != "":
		if inv.TenantCode != tenant {
			return &TenantError{Requested: tenant, Reason: "the caller acts for tenant " + strconv.Quote(inv.TenantCode)}
		}
		return nil
	case inv.External:
		return &TenantError{Requested: tenant, Reason: "the caller's credentials name no tenant"}
	}
	return nil
}

// TenantHeaderMode says whether and when the tenant header (x-tenant-code by
// default) may choose the tenant of a request.
type TenantHeaderMode string

// Tenant header modes.
const (
	// TenantHeaderIgnore: the tenant comes from the tenant claim only; the
	// header is never read. This is the default: a header is set by the
	// caller, a claim by the identity provider.
	TenantHeaderIgnore TenantHeaderMode = "ignore"
	// TenantHeaderWithinClaim: the tenant claim lists the tenants the caller
	// may act for, comma-separated ("acme,globex"), or "*" for any tenant;
	// the header picks one of them. A header naming a tenant outside the
	// list is refused with a *TenantError. Without a header, a claim listing
	// exactly one tenant selects it; otherwise TenantCode stays empty.
	TenantHeaderWithinClaim TenantHeaderMode = "within-claim"
	// TenantHeaderFallback: the claim wins when present; when the token has
	// no tenant claim, the header is taken as is. This is the reference
	// framework's behaviour; use it only behind an authorizer that lets
	// through callers entitled to every tenant (e.g. IAM-signed internal
	// calls), because any such caller can pick any tenant.
	TenantHeaderFallback TenantHeaderMode = "fallback"
)

// Defaults of InvokeResolver.
const (
	DefaultTenantClaim  = "custom:tenant"
	DefaultTenantHeader = "x-tenant-code"
)

// InvokeResolver builds an Invoke from an API Gateway request. The zero value
// is usable: it reads the tenant from the "custom:tenant" claim and ignores
// the tenant header.
type InvokeResolver struct {
	// TenantClaim names the claim that holds the tenant code (or, with
	// TenantHeaderWithinClaim, the allowed tenants). Empty means
	// DefaultTenantClaim. Cognito puts custom attributes such as
	// "custom:tenant" in ID tokens only, so a JWT authorizer that accepts
	// access tokens needs a pre-token-generation trigger or another claim.
	TenantClaim string
	// TenantHeader names the request header that may select the tenant.
	// Empty means DefaultTenantHeader. Matched case-insensitively.
	TenantHeader string
	// HeaderMode says whether the header may select the tenant. Empty means
	// TenantHeaderIgnore.
	HeaderMode TenantHeaderMode
}

// Validate reports a HeaderMode that is not one of the defined modes.
func (r InvokeResolver) Validate() error {
	switch r.HeaderMode {
	case "", TenantHeaderIgnore, TenantHeaderWithinClaim, TenantHeaderFallback:
		return nil
	}
	return &ValidationError{Problems: []string{fmt.Sprintf("tenant header mode %q: want %q, %q or %q",
		r.HeaderMode, TenantHeaderIgnore, TenantHeaderWithinClaim, TenantHeaderFallback)}}
}

// InvokeFromLambda returns the Invoke of an invocation with no caller
// identity (a stream, queue or Step Functions event): only RequestID, from
// the Lambda context in ctx when there is one.
func InvokeFromLambda(ctx context.Context) Invoke {
	var inv Invoke
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc != nil {
		inv.RequestID = lc.AwsRequestID
	}
	return inv
}

// InvokeFromHTTPAPI is InvokeResolver{}.FromHTTPAPI: tenant from the
// "custom:tenant" claim, tenant header ignored.
func InvokeFromHTTPAPI(ctx context.Context, req events.APIGatewayV2HTTPRequest) (Invoke, error) {
	return InvokeResolver{}.FromHTTPAPI(ctx, req)
}

// InvokeFromREST is InvokeResolver{}.FromREST: tenant from the
// "custom:tenant" claim, tenant header ignored.
func InvokeFromREST(ctx context.Context, req events.APIGatewayProxyRequest) (Invoke, error) {
	return InvokeResolver{}.FromREST(ctx, req)
}

// FromHTTPAPI builds the Invoke of an API Gateway HTTP API (payload format
// 2.0) request. Claims come from a JWT authorizer
// (requestContext.authorizer.jwt.claims) or, failing that, from a Lambda
// authorizer's context (requestContext.authorizer.lambda). An
// unauthenticated or IAM-authorized request carries no claims: it gives an
// Invoke without UserID (and without tenant unless the header mode lets the
// header choose), and no error. The error is a *TenantError when the tenant header asks for a
// tenant the claim does not grant, a *KeyError when the tenant code could
// not be used in a key, and a *ValidationError for an invalid HeaderMode.
func (r InvokeResolver) FromHTTPAPI(ctx context.Context, req events.APIGatewayV2HTTPRequest) (Invoke, error) {
	var claims map[string]string
	if a := req.RequestContext.Authorizer; a != nil {
		switch {
		case a.JWT != nil && len(a.JWT.Claims) > 0:
			claims = make(map[string]string, len(a.JWT.Claims))
			for k, v := range a.JWT.Claims {
				claims[k] = v
			}
		case len(a.Lambda) > 0:
			claims = stringClaims(a.Lambda)
		}
	}
	header := headerValue(req.Headers, nil, r.header())
	return r.build(ctx, req.RequestContext.RequestID, req.RequestContext.HTTP.SourceIP, claims, header)
}

// FromREST builds the Invoke of an API Gateway REST API (payload format 1.0)
// request. Claims come from a Cognito user pool authorizer
// (requestContext.authorizer.claims) or, failing that, from a Lambda
// authorizer's context (the other requestContext.authorizer values, where
// "principalId" stands in for a missing "sub"). Errors are as for
// FromHTTPAPI.
func (r InvokeResolver) FromREST(ctx context.Context, req events.APIGatewayProxyRequest) (Invoke, error) {
	var claims map[string]string
	if a := req.RequestContext.Authorizer; len(a) > 0 {
		if c, ok := a["claims"].(map[string]interface{}); ok {
			claims = stringClaims(c)
		} else {
			claims = stringClaims(a)
			if claims["sub"] == "" && claims["principalId"] != "" {
				claims["sub"] = claims["principalId"]
			}
		}
	}
	header := headerValue(req.Headers, req.MultiValueHeaders, r.header())
	return r.build(ctx, req.RequestContext.RequestID, req.RequestContext.Identity.SourceIP, claims, header)
}

func (r InvokeResolver) header() string {
	if r.TenantHeader != "" {
		return r.TenantHeader
	}
	return DefaultTenantHeader
}

func (r InvokeResolver) claim() string {
	if r.TenantClaim != "" {
		return r.TenantClaim
	}
	return DefaultTenantClaim
}

// build assembles an Invoke from the parts every API Gateway flavour has.
func (r InvokeResolver) build(ctx context.Context, apiRequestID, sourceIP string, claims map[string]string, header string) (Invoke, error) {
	if err := r.Validate(); err != nil {
		return Invoke{}, err
	}
	inv := InvokeFromLambda(ctx)
	inv.External = true
	inv.APIRequestID = apiRequestID
	if inv.RequestID == "" {
		inv.RequestID = apiRequestID
	}
	inv.SourceIP = sourceIP
	inv.Claims = claims
	inv.UserID = claims["sub"]
	inv.Username = claims["cognito:username"]
	if inv.Username == "" {
		inv.Username = claims["username"]
	}
	tenant, err := r.tenant(claims[r.claim()], header)
	if err != nil {
		return Invoke{}, err
	}
	inv.TenantCode = tenant
	return inv, nil
}

// tenant decides the tenant code from the tenant claim and header values.
func (r InvokeResolver) tenant(claim, header string) (string, error) {
	claim = strings.TrimSpace(claim)
	header = strings.ToLower(strings.TrimSpace(header))
	var tenant string
	switch r.HeaderMode {
	case "", TenantHeaderIgnore:
		tenant = claim
	case TenantHeaderFallback:
		tenant = claim
		if tenant == "" {
			tenant = header
		}
	case TenantHeaderWithinClaim:
		var allowed []string
		for _, t := range strings.Split(claim, ",") {
			if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
				allowed = append(allowed, t)
			}
		}
		switch {
		case header == "" && len(allowed) == 1 && allowed[0] != "*":
			tenant = allowed[0]
		case header == "":
			// No choice made among several (or any) tenants.
		case len(allowed) == 0:
			return "", &TenantError{Requested: header, Reason: "the token has no " + r.claim() + " claim"}
		default:
			for _, t := range allowed {
				if t == "*" || t == header {
					tenant = header
					break
				}
			}
			if tenant == "" {
				return "", &TenantError{Requested: header, Reason: "not in the " + r.claim() + " claim"}
			}
		}
	}
	tenant = strings.ToLower(tenant)
	if err := checkTenantCode(tenant); err != nil {
		return "", err
	}
	return tenant, nil
}

// checkTenantCode is ValidateTenantCode that lets the empty code (no
// tenant) pass.
func checkTenantCode(t string) error {
	if t == "" {
		return nil
	}
	return ValidateTenantCode(t)
}

// stringClaims converts authorizer values to strings: strings as they are,
// anything else JSON-encoded.
func stringClaims(m map[string]interface{}) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = v
		case nil:
			out[k] = ""
		default:
			b, err := json.Marshal(v)
			if err != nil {
				b = []byte(fmt.Sprint(v))
			}
			out[k] = string(b)
		}
	}
	return out
}

// headerValue finds name in headers (then multi-value headers), ignoring
// case. API Gateway lower-cases HTTP API header names but keeps REST API
// header names as the client sent them. When several spellings are present,
// the lexically first key wins, so the result does not depend on map order.
func headerValue(headers map[string]string, multi map[string][]string, name string) string {
	var keys []string
	for k := range headers {
		if strings.EqualFold(k, name) {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		return headers[keys[0]]
	}
	for k := range multi {
		if strings.EqualFold(k, name) && len(multi[k]) > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		return multi[keys[0]][0]
	}
	return ""
}

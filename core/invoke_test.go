package core

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// httpAPIJWTEvent is an HTTP API (payload 2.0) request authorized by a
// Cognito user pool JWT authorizer, as API Gateway delivers it.
const httpAPIJWTEvent = `{
  "version": "2.0",
  "routeKey": "POST /api/orders",
  "rawPath": "/api/orders",
  "rawQueryString": "",
  "headers": {
    "accept": "application/json",
    "authorization": "Bearer eyJraWQiOi...",
    "content-type": "application/json",
    "host": "abc123.execute-api.ap-northeast-1.amazonaws.com",
    "x-forwarded-for": "203.0.113.10",
    "x-tenant-code": "Globex"
  },
  "requestContext": {
    "accountId": "123456789012",
    "apiId": "abc123",
    "authorizer": {
      "jwt": {
        "claims": {
          "auth_time": "1732170000",
          "cognito:groups": "[admin]",
          "cognito:username": "alice",
          "custom:roles": "[{\"tenant\":\"acme\",\"role\":\"admin\"}]",
          "custom:tenant": "ACME",
          "email": "alice@example.com",
          "iss": "https://cognito-idp.ap-northeast-1.amazonaws.com/ap-northeast-1_AbCdEf",
          "sub": "7d8f2a4c-1b2e-4f3a-9c8d-0e1f2a3b4c5d",
          "token_use": "id"
        },
        "scopes": null
      }
    },
    "domainName": "abc123.execute-api.ap-northeast-1.amazonaws.com",
    "domainPrefix": "abc123",
    "http": {
      "method": "POST",
      "path": "/api/orders",
      "protocol": "HTTP/1.1",
      "sourceIp": "203.0.113.10",
      "userAgent": "curl/8.5.0"
    },
    "requestId": "Cx9bTjYyNjMEJbQ=",
    "routeKey": "POST /api/orders",
    "stage": "$default",
    "time": "21/Nov/2026:05:00:00 +0000",
    "timeEpoch": 1795150800000
  },
  "body": "{\"code\":\"o-1\"}",
  "isBase64Encoded": false
}`

// httpAPILambdaAuthEvent is an HTTP API request authorized by a Lambda
// authorizer (simple response) that returned a context.
const httpAPILambdaAuthEvent = `{
  "version": "2.0",
  "routeKey": "GET /api/orders",
  "rawPath": "/api/orders",
  "headers": {"x-tenant-code": "initech"},
  "requestContext": {
    "accountId": "123456789012",
    "apiId": "abc123",
    "authorizer": {
      "lambda": {"sub": "user-42", "username": "bob", "custom:tenant": "acme,initech", "level": 3}
    },
    "http": {"method": "GET", "path": "/api/orders", "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7", "userAgent": "Go-http-client/2.0"},
    "requestId": "Dz1cUkZzMjMEJcR=",
    "stage": "$default"
  }
}`

// restCognitoEvent is a REST API (payload 1.0) request authorized by a
// Cognito user pool authorizer.
const restCognitoEvent = `{
  "resource": "/api/orders",
  "path": "/api/orders",
  "httpMethod": "POST",
  "headers": {"Content-Type": "application/json", "X-Tenant-Code": "globex", "Host": "xyz789.execute-api.ap-northeast-1.amazonaws.com"},
  "multiValueHeaders": {"Content-Type": ["application/json"], "X-Tenant-Code": ["globex"]},
  "requestContext": {
    "accountId": "123456789012",
    "resourceId": "r1s2t3",
    "stage": "prod",
    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "identity": {"sourceIp": "192.0.2.44", "userAgent": "Mozilla/5.0"},
    "authorizer": {
      "claims": {
        "sub": "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
        "cognito:username": "carol",
        "custom:tenant": "Acme",
        "email_verified": "true"
      }
    },
    "resourcePath": "/api/orders",
    "httpMethod": "POST",
    "apiId": "xyz789"
  },
  "body": "{}",
  "isBase64Encoded": false
}`

// restLambdaAuthEvent is a REST API request authorized by a Lambda (TOKEN)
// authorizer, whose context values sit directly under authorizer.
const restLambdaAuthEvent = `{
  "resource": "/api/orders",
  "path": "/api/orders",
  "httpMethod": "GET",
  "headers": null,
  "multiValueHeaders": {"x-tenant-code": ["umbrella"]},
  "requestContext": {
    "requestId": "d7bf0bd7-8c72-22f7-ab52-04f9cafebabe",
    "identity": {"sourceIp": "192.0.2.45"},
    "authorizer": {"principalId": "svc-importer", "integrationLatency": 12}
  }
}`

// restAnonymousEvent is a REST API request without an authorizer.
const restAnonymousEvent = `{
  "resource": "/health",
  "path": "/health",
  "httpMethod": "GET",
  "requestContext": {"requestId": "e8c01ce8", "identity": {"sourceIp": "192.0.2.46"}}
}`

func invokeFixture[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return v
}

func invokeLambdaCtx(id string) context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: id})
}

func TestInvokeFromHTTPAPI(t *testing.T) {
	jwt := invokeFixture[events.APIGatewayV2HTTPRequest](t, httpAPIJWTEvent)
	lam := invokeFixture[events.APIGatewayV2HTTPRequest](t, httpAPILambdaAuthEvent)
	anon := invokeFixture[events.APIGatewayV2HTTPRequest](t, httpAPIJWTEvent)
	anon.RequestContext.Authorizer = nil

	tests := []struct {
		name     string
		resolver InvokeResolver
		ctx      context.Context
		req      events.APIGatewayV2HTTPRequest
		want     Invoke // Claims compared separately
		wantErr  error
	}{
		{
			name: "jwt claims, lambda context", ctx: invokeLambdaCtx("lambda-req-1"), req: jwt,
			want: Invoke{RequestID: "lambda-req-1", APIRequestID: "Cx9bTjYyNjMEJbQ=", TenantCode: "acme",
				UserID: "7d8f2a4c-1b2e-4f3a-9c8d-0e1f2a3b4c5d", Username: "alice", SourceIP: "203.0.113.10"},
		},
		{
			name: "no lambda context: api request id", ctx: context.Background(), req: jwt,
			want: Invoke{RequestID: "Cx9bTjYyNjMEJbQ=", APIRequestID: "Cx9bTjYyNjMEJbQ=", TenantCode: "acme",
				UserID: "7d8f2a4c-1b2e-4f3a-9c8d-0e1f2a3b4c5d", Username: "alice", SourceIP: "203.0.113.10"},
		},
		{
			name: "fallback mode: claim wins over header", resolver: InvokeResolver{HeaderMode: TenantHeaderFallback},
			ctx: context.Background(), req: jwt,
			want: Invoke{RequestID: "Cx9bTjYyNjMEJbQ=", APIRequestID: "Cx9bTjYyNjMEJbQ=", TenantCode: "acme",
				UserID: "7d8f2a4c-1b2e-4f3a-9c8d-0e1f2a3b4c5d", Username: "alice", SourceIP: "203.0.113.10"},
		},
		{
			name: "within-claim mode: header outside the claim", resolver: InvokeResolver{HeaderMode: TenantHeaderWithinClaim},
			ctx: context.Background(), req: jwt, wantErr: ErrTenantNotAllowed,
		},
		{
			name: "custom tenant claim absent", resolver: InvokeResolver{TenantClaim: "custom:org"},
			ctx: context.Background(), req: jwt,
			want: Invoke{RequestID: "Cx9bTjYyNjMEJbQ=", APIRequestID: "Cx9bTjYyNjMEJbQ=",
				UserID: "7d8f2a4c-1b2e-4f3a-9c8d-0e1f2a3b4c5d", Username: "alice", SourceIP: "203.0.113.10"},
		},
		{
			name: "lambda authorizer, within-claim header", resolver: InvokeResolver{HeaderMode: TenantHeaderWithinClaim},
			ctx: invokeLambdaCtx("lambda-req-2"), req: lam,
			want: Invoke{RequestID: "lambda-req-2", APIRequestID: "Dz1cUkZzMjMEJcR=", TenantCode: "initech",
				UserID: "user-42", Username: "bob", SourceIP: "198.51.100.7"},
		},
		{
			name: "anonymous, fallback mode takes header", resolver: InvokeResolver{HeaderMode: TenantHeaderFallback},
			ctx: context.Background(), req: anon,
			want: Invoke{RequestID: "Cx9bTjYyNjMEJbQ=", APIRequestID: "Cx9bTjYyNjMEJbQ=", TenantCode: "globex", SourceIP: "203.0.113.10"},
		},
		{
			name: "anonymous, default mode: no tenant", ctx: context.Background(), req: anon,
			want: Invoke{RequestID: "Cx9bTjYyNjMEJbQ=", APIRequestID: "Cx9bTjYyNjMEJbQ=", SourceIP: "203.0.113.10"},
		},
		{
			name: "invalid mode", resolver: InvokeResolver{HeaderMode: "sometimes"},
			ctx: context.Background(), req: jwt, wantErr: ErrValidation,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.resolver.FromHTTPAPI(tt.ctx, tt.req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.External {
				t.Error("an Invoke built from an HTTP request is not External")
			}
			got.Claims, got.External = nil, false
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestInvokeClaims(t *testing.T) {
	inv, err := InvokeFromHTTPAPI(context.Background(), invokeFixture[events.APIGatewayV2HTTPRequest](t, httpAPIJWTEvent))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := inv.Claims["custom:roles"], `[{"tenant":"acme","role":"admin"}]`; got != want {
		t.Errorf("custom:roles = %q, want %q", got, want)
	}
	inv, err = InvokeResolver{HeaderMode: TenantHeaderWithinClaim}.FromHTTPAPI(context.Background(),
		invokeFixture[events.APIGatewayV2HTTPRequest](t, httpAPILambdaAuthEvent))
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.Claims["level"]; got != "3" {
		t.Errorf("non-string lambda authorizer value = %q, want JSON %q", got, "3")
	}
}

func TestInvokeFromREST(t *testing.T) {
	cognito := invokeFixture[events.APIGatewayProxyRequest](t, restCognitoEvent)
	lam := invokeFixture[events.APIGatewayProxyRequest](t, restLambdaAuthEvent)
	anon := invokeFixture[events.APIGatewayProxyRequest](t, restAnonymousEvent)

	tests := []struct {
		name     string
		resolver InvokeResolver
		req      events.APIGatewayProxyRequest
		want     Invoke
		wantErr  error
	}{
		{
			name: "cognito authorizer", req: cognito,
			want: Invoke{RequestID: "lambda-req", APIRequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", TenantCode: "acme",
				UserID: "0a1b2c3d-4e5f-6789-abcd-ef0123456789", Username: "carol", SourceIP: "192.0.2.44"},
		},
		{
			name: "cognito, header outside claim", resolver: InvokeResolver{HeaderMode: TenantHeaderWithinClaim},
			req: cognito, wantErr: ErrTenantNotAllowed,
		},
		{
			name: "lambda authorizer: principalId, multi-value header fallback", resolver: InvokeResolver{HeaderMode: TenantHeaderFallback},
			req: lam,
			want: Invoke{RequestID: "lambda-req", APIRequestID: "d7bf0bd7-8c72-22f7-ab52-04f9cafebabe", TenantCode: "umbrella",
				UserID: "svc-importer", SourceIP: "192.0.2.45"},
		},
		{
			name: "lambda authorizer, within-claim without claim", resolver: InvokeResolver{HeaderMode: TenantHeaderWithinClaim},
			req: lam, wantErr: ErrTenantNotAllowed,
		},
		{
			name: "anonymous", req: anon,
			want: Invoke{RequestID: "lambda-req", APIRequestID: "e8c01ce8", SourceIP: "192.0.2.46"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.resolver.FromREST(invokeLambdaCtx("lambda-req"), tt.req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				var te *TenantError
				if errors.Is(tt.wantErr, ErrTenantNotAllowed) && (!errors.As(err, &te) || te.Requested == "") {
					t.Errorf("err = %#v, want *TenantError naming the tenant", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.External {
				t.Error("an Invoke built from an HTTP request is not External")
			}
			got.Claims, got.External = nil, false
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestInvokeResolverTenant(t *testing.T) {
	tests := []struct {
		mode          TenantHeaderMode
		claim, header string
		want          string
		wantErr       error
	}{
		{mode: "", claim: "Acme", header: "other", want: "acme"},
		{mode: TenantHeaderIgnore, claim: "", header: "other", want: ""},
		{mode: TenantHeaderFallback, claim: "", header: " Other ", want: "other"},
		{mode: TenantHeaderFallback, claim: "acme", header: "other", want: "acme"},
		{mode: TenantHeaderWithinClaim, claim: "acme", header: "", want: "acme"},
		{mode: TenantHeaderWithinClaim, claim: "acme, globex", header: "", want: ""},
		{mode: TenantHeaderWithinClaim, claim: "acme, globex", header: "GLOBEX", want: "globex"},
		{mode: TenantHeaderWithinClaim, claim: "acme,globex", header: "initech", wantErr: ErrTenantNotAllowed},
		{mode: TenantHeaderWithinClaim, claim: "*", header: "initech", want: "initech"},
		{mode: TenantHeaderWithinClaim, claim: "*", header: "", want: ""},
		{mode: TenantHeaderWithinClaim, claim: "", header: "initech", wantErr: ErrTenantNotAllowed},
		{mode: TenantHeaderIgnore, claim: "ac#me", wantErr: ErrInvalidKey},
		{mode: TenantHeaderFallback, header: "a@b", wantErr: ErrInvalidKey},
		{mode: TenantHeaderWithinClaim, claim: "*", header: "a b", wantErr: ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode)+"/"+tt.claim+"/"+tt.header, func(t *testing.T) {
			got, err := InvokeResolver{HeaderMode: tt.mode}.tenant(tt.claim, tt.header)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("tenant = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestInvokeResolverCustomHeader(t *testing.T) {
	req := invokeFixture[events.APIGatewayV2HTTPRequest](t, httpAPIJWTEvent)
	req.RequestContext.Authorizer = nil
	req.Headers["x-org"] = "hooli"
	r := InvokeResolver{TenantHeader: "X-Org", HeaderMode: TenantHeaderFallback}
	inv, err := r.FromHTTPAPI(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if inv.TenantCode != "hooli" {
		t.Errorf("TenantCode = %q, want hooli", inv.TenantCode)
	}
}

func TestInvokeContext(t *testing.T) {
	ctx := context.Background()
	if _, ok := FromContext(ctx); ok {
		t.Fatal("FromContext on an empty context reported an Invoke")
	}
	want := Invoke{RequestID: "r1", TenantCode: "acme", UserID: "u1"}
	got, ok := FromContext(NewContext(ctx, want))
	if !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("FromContext = %+v, %v; want %+v, true", got, ok, want)
	}
	// A value stored under another key of the same underlying type is not
	// mistaken for an Invoke.
	type otherKey struct{}
	if _, ok := FromContext(context.WithValue(ctx, otherKey{}, want)); ok {
		t.Error("FromContext read a value stored under a foreign key")
	}
}

func TestInvokeFromLambda(t *testing.T) {
	if got := InvokeFromLambda(invokeLambdaCtx("abc")); got.RequestID != "abc" {
		t.Errorf("RequestID = %q, want abc", got.RequestID)
	}
	if got := InvokeFromLambda(context.Background()); !reflect.DeepEqual(got, Invoke{}) {
		t.Errorf("without Lambda context: %+v, want zero", got)
	}
}

func TestHeaderValueDeterministic(t *testing.T) {
	h := map[string]string{"X-Tenant-Code": "b", "x-tenant-code": "a"}
	for i := 0; i < 20; i++ {
		if got := headerValue(h, nil, "x-tenant-code"); got != "b" {
			t.Fatalf("headerValue = %q, want the lexically first key's value %q", got, "b")
		}
	}
}

func FuzzInvokeResolverTenant(f *testing.F) {
	f.Add("acme", "globex", uint8(0))
	f.Add("acme,globex", "GLOBEX", uint8(2))
	f.Add("*", "x#y", uint8(2))
	f.Add("", "fallback", uint8(1))
	modes := []TenantHeaderMode{TenantHeaderIgnore, TenantHeaderFallback, TenantHeaderWithinClaim}
	f.Fuzz(func(t *testing.T, claim, header string, mode uint8) {
		r := InvokeResolver{HeaderMode: modes[int(mode)%len(modes)]}
		got, err := r.tenant(claim, header)
		if err != nil {
			if !errors.Is(err, ErrTenantNotAllowed) && !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if got != "" && checkTenantCode(got) != nil {
			t.Errorf("accepted tenant %q", got)
		}
		if r.HeaderMode == TenantHeaderIgnore && header != "" && got != strings.ToLower(strings.TrimSpace(claim)) {
			t.Errorf("ignore mode: header %q changed the tenant to %q", header, got)
		}
	})
}

func TestAuthorizeTenant(t *testing.T) {
	bg := context.Background()
	tests := []struct {
		name    string
		ctx     context.Context
		require bool
		tenant  string
		ok      bool
	}{
		{"no invoke", bg, false, "acme", true},
		{"no invoke, required", bg, true, "acme", false},
		{"caller's tenant", NewContext(bg, Invoke{TenantCode: "acme", External: true}), true, "acme", true},
		{"other tenant", NewContext(bg, Invoke{TenantCode: "acme", External: true}), false, "globex", false},
		{"other tenant, internal invoke", NewContext(bg, Invoke{TenantCode: "acme"}), false, "globex", false},
		{"other case", NewContext(bg, Invoke{TenantCode: "acme"}), false, "ACME", false},
		{"external caller without tenant", NewContext(bg, Invoke{External: true, UserID: "u"}), false, "acme", false},
		{"service invocation", NewContext(bg, Invoke{RequestID: "r"}), true, "globex", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := AuthorizeTenant(tt.ctx, tt.tenant, tt.require)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var te *TenantError
			if !errors.As(err, &te) || !errors.Is(err, ErrTenantNotAllowed) || te.Requested != tt.tenant || te.Reason == "" {
				t.Fatalf("err = %v, want a *TenantError for %q", err, tt.tenant)
			}
		})
	}
}

package core_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/stepcqrs/stepcqrs/core"
)

// An HTTP API handler turns the request into an Invoke and passes it down
// in the context; code further down reads the audit facts from there.
func ExampleInvokeResolver_FromHTTPAPI() {
	var req events.APIGatewayV2HTTPRequest
	_ = json.Unmarshal([]byte(`{
	  "version": "2.0",
	  "headers": {"x-tenant-code": "globex"},
	  "requestContext": {
	    "requestId": "Cx9bTjYyNjMEJbQ=",
	    "http": {"method": "POST", "path": "/api/orders", "sourceIp": "203.0.113.10"},
	    "authorizer": {"jwt": {"claims": {
	      "sub": "7d8f2a4c", "cognito:username": "alice", "custom:tenant": "acme,globex"}}}
	  }
	}`), &req)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "8f6e-lambda"})

	r := core.InvokeResolver{HeaderMode: core.TenantHeaderWithinClaim}
	inv, err := r.FromHTTPAPI(ctx, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx = core.NewContext(ctx, inv)

	got, _ := core.FromContext(ctx)
	fmt.Println("tenant:", got.TenantCode)
	fmt.Println("user:", got.UserID, got.Username)
	fmt.Println("ip:", got.SourceIP)
	fmt.Println("request:", got.RequestID, got.APIRequestID)

	// A header naming a tenant outside the claim is refused.
	req.Headers["x-tenant-code"] = "initech"
	_, err = r.FromHTTPAPI(ctx, req)
	fmt.Println(err)
	// Output:
	// tenant: globex
	// user: 7d8f2a4c alice
	// ip: 203.0.113.10
	// request: 8f6e-lambda Cx9bTjYyNjMEJbQ=
	// stepcqrs: tenant "initech" not allowed: not in the custom:tenant claim
}

// A REST API (payload 1.0) request with a Cognito user pool authorizer.
func ExampleInvokeFromREST() {
	var req events.APIGatewayProxyRequest
	_ = json.Unmarshal([]byte(`{
	  "httpMethod": "GET",
	  "requestContext": {
	    "requestId": "c6af9ac6",
	    "identity": {"sourceIp": "192.0.2.44"},
	    "authorizer": {"claims": {"sub": "0a1b2c3d", "custom:tenant": "ACME"}}
	  }
	}`), &req)
	inv, err := core.InvokeFromREST(context.Background(), req)
	fmt.Println(inv.TenantCode, inv.UserID, inv.SourceIP, inv.RequestID, err)
	// Output: acme 0a1b2c3d 192.0.2.44 c6af9ac6 <nil>
}

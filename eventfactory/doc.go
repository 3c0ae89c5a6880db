// Package eventfactory is the Lambda ingress of stepcqrs: it takes the raw
// JSON payload of an invocation, detects which AWS source sent it by its
// shape, decodes it into typed events and calls the handlers registered for
// them.
//
// One Lambda binary serves every source:
//
//   - Step Functions tasks, whose state machines pass
//     {"input.$": "$", "context.$": "$$"} (plus "taskToken.$" for
//     .waitForTaskToken), routed by state machine name and state name. The
//     handler's return value is the task result as is.
//   - DynamoDB streams, routed by table name (from the stream ARN) and event
//     name (INSERT, MODIFY, REMOVE), with the images decoded into Go structs.
//   - SQS, routed by queue name; SNS, by topic name; S3, by bucket and event
//     name prefix; EventBridge, by source and detail-type.
//   - HTTP requests from API Gateway REST and HTTP APIs and from Lambda
//     function URLs, served by one standard http.Handler (see HTTP
//     requests below).
//
// Handlers are registered with generic functions (OnDynamoDB, OnSQS, OnSNS,
// OnS3, OnEventBridge, OnStepFunctions) and OnHTTP on a Router. Registration problems
// are collected and reported together by Router.Validate and Router.Build,
// so a mis-wired service fails at start-up, not at its first event.
//
// Build returns a Dispatcher; its Handler is the function main hands to
// lambda.Start, and its Dispatch is the same without the conversion of
// errors for the runtime (tests and the embedded runtime call it directly).
// With fx, Module builds the Dispatcher from the Registration values of the
// "stepcqrs.routes" value group (see AsRegistration), and registration
// problems fail the application's start.
//
// Events without a handler follow Config.Unrouted: UnroutedFail (the
// default) fails them, UnroutedSkip logs and drops them; neither is silent.
//
// # Batches and partial failures
//
// SQS and DynamoDB stream batches answer with a partial batch response
// (events.SQSEventResponse, events.DynamoDBEventResponse): only the records
// that failed are retried. The event source mapping must enable
// ReportBatchItemFailures, otherwise Lambda ignores the response.
//
// DynamoDB stream records are processed in order and processing stops at the
// first record that fails; that record alone is reported. Lambda resumes the
// shard at the lowest reported sequence number and redelivers every record
// after it, so later records would run again anyway, and running them now
// could apply a later change of an item before an earlier one.
//
// Standard SQS queues process every message and report each failing one. On
// FIFO queues (ARN ending in ".fifo"), once a message fails, the later
// messages of the same message group are not processed and are reported as
// failed too, so the group is redelivered in order; other groups go on.
//
// When several handlers match an event, all run in registration order and
// the event fails if any fails; a retry runs them all again, so handlers
// must be idempotent (they must be anyway: every source delivers at least
// once).
//
// A record that cannot be decoded fails alone. Handler panics are recovered
// into *PanicError. A record without a usable identifier (messageId,
// SequenceNumber) cannot be reported alone, so the whole invocation fails.
//
// # Decoding
//
// Stream images are parsed by the package's own DynamoDB JSON parser
// straight into SDK attribute values (see DecodeStreamRecord), then
// decoded into the handler's type with attributevalue.UnmarshalMap
// (dynamodbav struct tags). aws-lambda-go's attribute decoder is not used:
// it panics on some malformed sets and accepts {"NULL": false}. SQS bodies
// and SNS messages are passed as is to string and []byte handlers and
// decoded as JSON otherwise; Step Functions input and EventBridge detail are
// decoded as JSON (json.RawMessage keeps them undecoded).
//
// # HTTP requests
//
// OnHTTP registers the service's http.Handler, typically an http.ServeMux
// with method and wildcard patterns ("GET /orders/{code}"). Three shapes
// reach it:
//
//   - payload format 1.0 (events.APIGatewayProxyRequest, SourceAPIGatewayV1):
//     REST APIs, and HTTP APIs whose integration asks for format 1.0;
//   - payload format 2.0 from an HTTP API (events.APIGatewayV2HTTPRequest,
//     SourceAPIGatewayV2);
//   - payload format 2.0 from a function URL (events.LambdaFunctionURLRequest,
//     SourceFunctionURL).
//
// The last two have the same keys: function URL events carry an apiId
// (the URL id), a routeKey and a stage ("$default") as HTTP API events do.
// What tells them apart is requestContext.domainName: a function URL's host
// is always <url-id>.lambda-url.<region>.on.aws, a name in AWS's own domain
// that no HTTP API, custom domain included, can have. An event without a
// domainName is taken for an HTTP API's; the two answer in the same format
// anyway.
//
// The handler gets the http.Request a server would have built: method,
// path and query (URL-decoded values for format 1.0, rawQueryString for
// 2.0), headers (multi-value ones in format 1.0; comma-joined in 2.0, as
// API Gateway joins them), cookies (2.0's cookies array becomes a Cookie
// header), the body (base64-decoded when isBase64Encoded), Host, Proto,
// RemoteAddr ("SOURCE-IP:0": API Gateway does not tell the client's port)
// and API Gateway's path parameters (r.PathValue; a ServeMux pattern's
// wildcards of the same name take precedence). Paths arrive
// percent-encoded from REST APIs and function URLs and decoded from HTTP
// APIs; characters that cannot stand in an encoded path ('?', '#', spaces,
// a lone '%', …) are escaped before parsing, so a decoded path cannot turn
// into a query, but "%2F" in a decoded path cannot be told from "/".
// The request's context carries:
//
//   - the caller's core.Invoke, built by Config.Invoke (a
//     core.InvokeResolver) from the authorizer's claims: the tenant, the
//     user, the source IP, the Lambda request id. Module takes the
//     resolver from the graph's core.Config (STEPCQRS_TENANT_* variables)
//     unless Config.Invoke is set. Function URLs have no claims (IAM or no
//     auth): their tenant can only come from the tenant header, in the
//     fallback header mode. A tenant the resolver refuses is answered 403
//     ({"message": ...}), an unusable tenant code 400, without running the
//     handler;
//   - the HTTPEvent (HTTPEventFrom), for what http.Request has no field
//     for: claims, stage, API id, IAM caller.
//
// The response goes back in the struct of the request's source:
// events.APIGatewayProxyResponse (every header in multiValueHeaders, the
// single-valued ones in headers too), events.APIGatewayV2HTTPResponse or
// events.LambdaFunctionURLResponse (comma-joined headers, Set-Cookie values
// in cookies). It is what net/http would send: status 200 unless written,
// the headers as they were at WriteHeader, a sniffed Content-Type when none
// was set, no body for HEAD, 204 and 304. A body that is not UTF-8 text of
// a textual media type (text/*, JSON, XML, form data, …) or that has a
// Content-Encoding travels base64-encoded; a REST API passes it on as
// binary only for the binary media types configured on the API.
//
// A handler panic is recovered, logged with its stack and answered 500
// {"message":"Internal Server Error"}; the invocation succeeds. An event
// that does not decode, or lacks a method or an absolute path, fails the
// invocation with a *MalformedError (API Gateway then answers 502), and so
// does a request without an OnHTTP handler, with an *UnroutedError, under
// either Unrouted policy: a request needs a response. Application Load
// Balancer requests (payload format 1.0 with requestContext.elb) are not
// supported and reported as an unknown source. Responses are buffered
// (no streaming) and, like every Lambda response, limited to 6 MB.
//
// # Errors that reach Step Functions
//
// The Lambda Go runtime (aws-lambda-go lambda/errors.go) reports as
// errorType the reflect type name of the returned error, pointer stripped,
// without unwrapping: fmt.Errorf("...: %w", err) is reported as "wrapError".
// It makes one exception: a returned value of type
// messages.InvokeResponse_Error is sent as is, Type included. Dispatcher's
// Handler uses that exception: every error leaves as an
// InvokeResponse_Error whose Type is ErrorName(err), which unwraps to find
// a meaningful name (see ErrorName), so Retry and Catch can match on
// "VersionConflictError", "ConditionFailedError" and so on.
package eventfactory

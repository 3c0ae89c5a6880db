// Package awsadapter implements the stepcqrs ports of package core on AWS
// with aws-sdk-go-v2: ItemStore on DynamoDB, Workflows on Step Functions,
// ObjectStore on S3, Queue on SQS and Topic on SNS.
//
// Every constructor takes an SDK client (or any value with the methods the
// adapter calls), so the adapters are usable without fx; Module wires them
// with fx from the default AWS configuration, which honours AWS_ENDPOINT_URL
// for LocalStack, moto or any other AWS-compatible endpoint.
//
// Errors returned by the adapters wrap the SDK error and unwrap to the core
// sentinels: a missing item, object, execution, queue or topic matches
// core.ErrNotFound, a failed condition core.ErrConditionFailed (for
// transactions a *core.TransactionCanceledError with one reason per
// operation), an oversized item core.ErrItemTooLarge, a taken execution name
// core.ErrExecutionExists and an unusable task token core.ErrTaskTokenInvalid.
package awsadapter

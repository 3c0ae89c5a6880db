package eventfactory

import "strings"

// arnResource splits arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE and
// returns RESOURCE when SERVICE is service.
func arnResource(arn, service string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != service || parts[5] == "" {
		return "", false
	}
	return parts[5], true
}

// TableFromStreamARN returns the table name of a DynamoDB stream ARN,
// arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/TIMESTAMP (the form AWS,
// DynamoDB Local and moto use). A table ARN without the stream part is
// accepted too.
func TableFromStreamARN(arn string) (string, error) {
	const want = "arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME/stream/TIMESTAMP"
	res, ok := arnResource(arn, "dynamodb")
	if !ok || !strings.HasPrefix(res, "table/") {
		return "", &ARNError{ARN: arn, Want: want}
	}
	name := strings.TrimPrefix(res, "table/")
	if i := strings.Index(name, "/stream/"); i >= 0 {
		name = name[:i]
	}
	if name == "" || strings.Contains(name, "/") {
		return "", &ARNError{ARN: arn, Want: want}
	}
	return name, nil
}

// QueueFromARN returns the queue name of an SQS queue ARN,
// arn:aws:sqs:REGION:ACCOUNT:NAME.
func QueueFromARN(arn string) (string, error) {
	res, ok := arnResource(arn, "sqs")
	if !ok || strings.ContainsAny(res, ":/") {
		return "", &ARNError{ARN: arn, Want: "arn:PARTITION:sqs:REGION:ACCOUNT:NAME"}
	}
	return res, nil
}

// TopicFromARN returns the topic name of an SNS topic ARN,
// arn:aws:sns:REGION:ACCOUNT:NAME.
func TopicFromARN(arn string) (string, error) {
	res, ok := arnResource(arn, "sns")
	if !ok || strings.ContainsAny(res, ":/") {
		return "", &ARNError{ARN: arn, Want: "arn:PARTITION:sns:REGION:ACCOUNT:NAME"}
	}
	return res, nil
}

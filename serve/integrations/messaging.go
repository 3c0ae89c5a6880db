package integrations

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
	"github.com/stepcqrs/stepcqrs/core"
)

// sqsIntegration is arn:aws:states:::sqs:sendMessage on a core.Queue.
type sqsIntegration struct{ b Backends }

// QueueName returns the name of a queue from its URL
// (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME), its ARN
// (arn:aws:sqs:REGION:ACCOUNT:NAME) or its name.
func QueueName(urlOrARN string) string {
	s := strings.TrimRight(urlOrARN, "/")
	if strings.HasPrefix(s, "arn:") {
		return s[strings.LastIndexByte(s, ':')+1:]
	}
	return s[strings.LastIndexByte(s, '/')+1:]
}

// messageBody renders a MessageBody or Message parameter: a string as is,
// any other JSON value as its JSON text (as Step Functions does).
func messageBody(v any) (string, bool) {
	switch b := v.(type) {
	case nil:
		return "", false
	case string:
		return b, true
	}
	s, err := jsonpath.EncodeString(v)
	return s, err == nil
}

// messageAttributes reads SQS/SNS MessageAttributes: String and Number
// values (the ports carry strings).
func messageAttributes(v any) (map[string]string, map[string][2]string, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, nil, nil
	}
	out := map[string]string{}
	typed := map[string][2]string{}
	for name, a := range m {
		am, ok := a.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("message attribute %s must be an object", name)
		}
		dt := str(am, "DataType")
		if !strings.HasPrefix(dt, "String") && !strings.HasPrefix(dt, "Number") {
			return nil, nil, fmt.Errorf("message attribute %s: data type %q is %w", name, dt, errUnsupported)
		}
		sv, ok := am["StringValue"]
		if !ok {
			return nil, nil, fmt.Errorf("message attribute %s has no StringValue", name)
		}
		s, _ := messageBody(sv)
		out[name] = s
		typed[name] = [2]string{dt, s}
	}
	return out, typed, nil
}

// md5Hex returns the hex MD5 of s.
func md5Hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// md5Attributes is SQS's MD5OfMessageAttributes: the digest of every
// attribute, sorted by name, as length-prefixed name, data type, transport
// type (1 for strings) and value.
func md5Attributes(attrs map[string][2]string) string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	field := func(s string) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(s)))
		h.Write(l[:])
		h.Write([]byte(s))
	}
	for _, n := range names {
		field(n)
		field(attrs[n][0])
		h.Write([]byte{1})
		field(attrs[n][1])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sendMessage sends one message: {"MessageId", "MD5OfMessageBody",
// "MD5OfMessageAttributes"?}.
func (s *sqsIntegration) sendMessage(ctx context.Context, req *interp.TaskRequest) (any, error) {
	p, err := params(req)
	if err != nil {
		return nil, err
	}
	url := str(p, "QueueUrl")
	if url == "" {
		return nil, svcSQS.fail("AmazonSQSException", "MissingParameter", 400, "The request must contain the parameter QueueUrl.")
	}
	body, ok := messageBody(p["MessageBody"])
	if !ok || body == "" {
		return nil, svcSQS.fail("AmazonSQSException", "MissingParameter", 400, "The request must contain the parameter MessageBody.")
	}
	attrs, typed, err := messageAttributes(p["MessageAttributes"])
	if err != nil {
		return nil, svcSQS.fail("AmazonSQSException", "InvalidParameterValue", 400, err.Error())
	}
	msg := core.OutgoingMessage{Body: body, Attributes: attrs, GroupID: str(p, "MessageGroupId"), DeduplicationID: str(p, "MessageDeduplicationId")}
	if d, ok := p["DelaySeconds"]; ok {
		n, err := strconv.Atoi(fmt.Sprint(d))
		if err != nil || n < 0 || n > 900 {
			return nil, svcSQS.fail("AmazonSQSException", "InvalidParameterValue", 400, "Value for parameter DelaySeconds is invalid. Reason: must be between 0 and 900.")
		}
		msg.Delay = time.Duration(n) * time.Second
	}
	ids, err := s.b.Queues.Send(ctx, QueueName(url), msg)
	if err != nil {
		return nil, svcSQS.portError(err, "QueueDoesNotExistException", "AWS.SimpleQueueService.NonExistentQueue")
	}
	out := map[string]any{"MD5OfMessageBody": md5Hex(body), "MessageId": ids[0]}
	if len(typed) > 0 {
		out["MD5OfMessageAttributes"] = md5Attributes(typed)
	}
	b, _ := json.Marshal(out)
	return sdkMetadata(out, "application/x-amz-json-1.0", len(b), s.b.Now()), nil
}

// snsIntegration is arn:aws:states:::sns:publish on a core.Topic.
type snsIntegration struct{ b Backends }

// publish publishes one message: {"MessageId"}.
func (s *snsIntegration) publish(ctx context.Context, req *interp.TaskRequest) (any, error) {
	p, err := params(req)
	if err != nil {
		return nil, err
	}
	arn := str(p, "TopicArn")
	if arn == "" {
		if str(p, "TargetArn") != "" || str(p, "PhoneNumber") != "" {
			return nil, svcSNS.fail("InvalidParameterException", "InvalidParameter", 400, "Invalid parameter: TargetArn and PhoneNumber are "+errUnsupported.Error())
		}
		return nil, svcSNS.fail("InvalidParameterException", "InvalidParameter", 400, "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
	}
	msg, ok := messageBody(p["Message"])
	if !ok {
		return nil, svcSNS.fail("InvalidParameterException", "InvalidParameter", 400, "Invalid parameter: Message Reason: no value for required parameter")
	}
	attrs, _, err := messageAttributes(p["MessageAttributes"])
	if err != nil {
		return nil, svcSNS.fail("InvalidParameterException", "InvalidParameter", 400, "Invalid parameter: "+err.Error())
	}
	name := arn[strings.LastIndexByte(arn, ':')+1:]
	if strings.HasSuffix(name, ".fifo") && str(p, "MessageGroupId") == "" {
		return nil, svcSNS.fail("InvalidParameterException", "InvalidParameter", 400, "Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
	}
	id, err := s.b.Topics.Publish(ctx, name, msg, attrs)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return nil, svcSNS.fail("NotFoundException", "NotFound", 404, "Topic does not exist")
		}
		return nil, svcSNS.portError(err, "", "")
	}
	out := map[string]any{"MessageId": id}
	b, _ := json.Marshal(out)
	return sdkMetadata(out, "text/xml", len(b)+250, s.b.Now()), nil
}

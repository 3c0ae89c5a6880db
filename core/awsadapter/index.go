package awsadapter

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

var _ core.IndexQuerier = (*ItemStore)(nil)

// QueryIndex implements core.IndexQuerier with one Query on the index
// (IndexName). As Query, with a Limit it asks for one item more, so that
// Next is nil exactly when no matching item follows.
func (s *ItemStore) QueryIndex(ctx context.Context, table string, q core.IndexQuery) (core.IndexPage, error) {
	switch {
	case q.Index.Name == "" || q.Index.PK == "" || q.Index.SK == "":
		return core.IndexPage{}, &core.ValidationError{Problems: []string{"index query needs the index name and key attributes"}}
	case q.Limit < 0:
		return core.IndexPage{}, &core.ValidationError{Problems: []string{"query limit must not be negative"}}
	case q.Op == core.SKBetween && q.SK > q.SK2:
		return core.IndexPage{}, nil
	}
	kc, err := keyConditionOn(q.Index.PK, q.Index.SK, q.PK, q.Op, q.SK, q.SK2)
	if err != nil {
		return core.IndexPage{}, err
	}
	e, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return core.IndexPage{}, fmt.Errorf("stepcqrs: building index query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		IndexName:                 aws.String(q.Index.Name),
		KeyConditionExpression:    e.KeyCondition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	}
	if q.Limit > 0 {
		in.Limit = aws.Int32(int32(min(q.Limit, 1<<30)) + 1)
	}
	if c := q.StartAfter; c != nil {
		in.ExclusiveStartKey = keyAV(c.Key)
		in.ExclusiveStartKey[q.Index.PK] = &types.AttributeValueMemberS{Value: q.PK}
		in.ExclusiveStartKey[q.Index.SK] = &types.AttributeValueMemberS{Value: c.SK}
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		if apiCode(err) == "ValidationException" && mentionsIndex(apiMessage(err)) {
			return core.IndexPage{}, notFound("index", table+"/"+q.Index.Name, err)
		}
		return core.IndexPage{}, mapErr(table, err)
	}
	page := core.IndexPage{Items: out.Items}
	cursor := func(it map[string]types.AttributeValue) *core.IndexCursor {
		k, ok := keyOf(it)
		sk, ok2 := it[q.Index.SK].(*types.AttributeValueMemberS)
		if !ok || !ok2 {
			return nil
		}
		return &core.IndexCursor{Key: k, SK: sk.Value}
	}
	if q.Limit > 0 && len(page.Items) > q.Limit {
		page.Items = page.Items[:q.Limit]
		page.Next = cursor(page.Items[q.Limit-1])
		return page, nil
	}
	if out.LastEvaluatedKey != nil {
		page.Next = cursor(out.LastEvaluatedKey)
	}
	return page, nil
}

// mentionsIndex reports whether a ValidationException is about a missing
// index ("The table does not have the specified index: …").
func mentionsIndex(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "specified index") || strings.Contains(msg, "index not found")
}

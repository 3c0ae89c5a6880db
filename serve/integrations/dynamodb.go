package integrations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/core"
)

// dynamo runs the DynamoDB integrations on an ItemStore.
type dynamo struct{ b Backends }

// resource returns the integration of one DynamoDB API action. optimized
// selects the optimized integration (SdkHttpMetadata in the result,
// "DynamoDB." errors) over the AWS SDK one ("DynamoDb." errors).
func (d *dynamo) resource(op string, optimized bool) interp.Resource {
	svc := svcDynamoSDK
	if optimized {
		svc = svcDynamo
	}
	return interp.ResourceFunc(func(ctx context.Context, req *interp.TaskRequest) (any, error) {
		p, err := params(req)
		if err != nil {
			return nil, err
		}
		table := str(p, "TableName")
		if table == "" {
			return nil, svc.fail("", "ValidationException", 400, "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
		}
		x, err := newExprContext(p)
		if err != nil {
			return nil, svc.fail("", "ValidationException", 400, err.Error())
		}
		var out map[string]any
		switch op {
		case "getItem":
			out, err = d.getItem(ctx, table, p, x)
		case "putItem":
			out, err = d.putItem(ctx, table, p, x)
		case "updateItem":
			out, err = d.updateItem(ctx, table, p, x)
		case "deleteItem":
			out, err = d.deleteItem(ctx, table, p, x)
		case "query":
			out, err = d.query(ctx, table, p, x)
		}
		if err != nil {
			var se *interp.StatesError
			if errors.As(err, &se) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			switch {
			case errors.Is(err, core.ErrConditionFailed):
				return nil, svc.portError(err, "", "")
			case errors.Is(err, core.ErrNotFound):
				return nil, svc.fail("ResourceNotFoundException", "ResourceNotFoundException", 400, "Requested resource not found")
			case !isPortError(err):
				// A request the integration or the port cannot carry out.
				return nil, svc.fail("", "ValidationException", 400, err.Error())
			}
			return nil, svc.portError(err, "", "")
		}
		if optimized {
			b, _ := json.Marshal(out)
			out = sdkMetadata(out, "application/x-amz-json-1.0", len(b), d.b.Now())
		}
		return out, nil
	})
}

// isPortError reports whether err came from the port (it matches one of
// core's sentinels or is a transient error).
func isPortError(err error) bool {
	var te *core.TransientError
	return errors.As(err, &te) || errors.Is(err, core.ErrValidation) || errors.Is(err, core.ErrItemTooLarge) ||
		errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrConditionFailed)
}

func (d *dynamo) key(p map[string]any) (core.Key, error) {
	if p["Key"] == nil {
		return core.Key{}, errors.New("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null")
	}
	k, err := keyFromJSON(p["Key"])
	if err != nil {
		return core.Key{}, err
	}
	return k, nil
}

// getItem reads one item: {"Item": ...}, or {} when it is absent.
func (d *dynamo) getItem(ctx context.Context, table string, p map[string]any, x *exprContext) (map[string]any, error) {
	k, err := d.key(p)
	if err != nil {
		return nil, err
	}
	proj, err := x.projection(str(p, "ProjectionExpression"))
	if err != nil {
		return nil, err
	}
	consistent, _ := p["ConsistentRead"].(bool)
	it, err := d.b.Items.Get(ctx, table, k, consistent)
	if errors.Is(err, core.ErrNotFound) && !isTableMissing(err) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"Item": itemToJSON(project(it, proj))}, nil
}

// isTableMissing tells a missing table from a missing item.
func isTableMissing(err error) bool {
	var nf *core.NotFoundError
	return errors.As(err, &nf) && nf.Kind == "table"
}

// project keeps the named attributes of an item (all when names is empty).
func project(it core.Item, names []string) core.Item {
	if len(names) == 0 {
		return it
	}
	out := core.Item{}
	for _, n := range names {
		if v, ok := it[n]; ok {
			out[n] = v
		}
	}
	return out
}

// old reads the item before a write, for ReturnValues ALL_OLD and
// UPDATED_OLD; the port has no such option, so the read is a separate
// (consistent) request.
func (d *dynamo) old(ctx context.Context, table string, k core.Key) (core.Item, error) {
	it, err := d.b.Items.Get(ctx, table, k, true)
	if errors.Is(err, core.ErrNotFound) && !isTableMissing(err) {
		return nil, nil
	}
	return it, err
}

func returnValues(p map[string]any, allowed ...string) (string, error) {
	rv := str(p, "ReturnValues")
	if rv == "" || rv == "NONE" {
		return "NONE", nil
	}
	for _, a := range allowed {
		if rv == a {
			return rv, nil
		}
	}
	return "", fmt.Errorf("ReturnValues %s is not valid for this operation", rv)
}

// putItem writes an item; ReturnValues ALL_OLD returns the item it replaced.
func (d *dynamo) putItem(ctx context.Context, table string, p map[string]any, x *exprContext) (map[string]any, error) {
	if p["Item"] == nil {
		return nil, errors.New("1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null")
	}
	item, err := itemFromJSON(p["Item"])
	if err != nil {
		return nil, err
	}
	k, err := keyOf(item)
	if err != nil {
		return nil, err
	}
	return d.replace(ctx, table, k, p, x, func(cond core.Condition) error { return d.b.Items.Put(ctx, table, item, cond) })
}

// replace runs a conditional write that replaces or removes the item at
// k (putItem, deleteItem); ReturnValues ALL_OLD returns the item before
// it, read first.
func (d *dynamo) replace(ctx context.Context, table string, k core.Key, p map[string]any, x *exprContext, write func(core.Condition) error) (map[string]any, error) {
	cond, err := x.parseCondition(str(p, "ConditionExpression"))
	if err != nil {
		return nil, err
	}
	rv, err := returnValues(p, "ALL_OLD")
	if err != nil {
		return nil, err
	}
	var prev core.Item
	if rv == "ALL_OLD" {
		if prev, err = d.old(ctx, table, k); err != nil {
			return nil, err
		}
	}
	if err := write(cond); err != nil {
		return nil, err
	}
	out := map[string]any{}
	if prev != nil {
		out["Attributes"] = itemToJSON(prev)
	}
	return out, nil
}

// updateItem applies an UpdateExpression; ReturnValues ALL_NEW and
// UPDATED_NEW come from the port's answer, ALL_OLD and UPDATED_OLD from a
// read before the update.
func (d *dynamo) updateItem(ctx context.Context, table string, p map[string]any, x *exprContext) (map[string]any, error) {
	k, err := d.key(p)
	if err != nil {
		return nil, err
	}
	upd, err := x.parseUpdate(str(p, "UpdateExpression"))
	if err != nil {
		return nil, err
	}
	cond, err := x.parseCondition(str(p, "ConditionExpression"))
	if err != nil {
		return nil, err
	}
	rv, err := returnValues(p, "ALL_NEW", "UPDATED_NEW", "ALL_OLD", "UPDATED_OLD")
	if err != nil {
		return nil, err
	}
	var prev core.Item
	if rv == "ALL_OLD" || rv == "UPDATED_OLD" {
		if prev, err = d.old(ctx, table, k); err != nil {
			return nil, err
		}
	}
	after, err := d.b.Items.Update(ctx, table, k, upd, cond)
	if err != nil {
		return nil, err
	}
	updated := func(it core.Item) core.Item {
		out := core.Item{}
		for n := range upd.Set {
			if v, ok := it[n]; ok {
				out[n] = v
			}
		}
		for n := range upd.Add {
			if v, ok := it[n]; ok {
				out[n] = v
			}
		}
		for _, n := range upd.Remove {
			if v, ok := it[n]; ok {
				out[n] = v
			}
		}
		return out
	}
	out := map[string]any{}
	switch rv {
	case "ALL_NEW":
		out["Attributes"] = itemToJSON(after)
	case "UPDATED_NEW":
		out["Attributes"] = itemToJSON(updated(after))
	case "ALL_OLD":
		if prev != nil {
			out["Attributes"] = itemToJSON(prev)
		}
	case "UPDATED_OLD":
		if prev != nil {
			if u := updated(prev); len(u) > 0 {
				out["Attributes"] = itemToJSON(u)
			}
		}
	}
	return out, nil
}

// deleteItem removes an item; ReturnValues ALL_OLD returns it.
func (d *dynamo) deleteItem(ctx context.Context, table string, p map[string]any, x *exprContext) (map[string]any, error) {
	k, err := d.key(p)
	if err != nil {
		return nil, err
	}
	return d.replace(ctx, table, k, p, x, func(cond core.Condition) error { return d.b.Items.Delete(ctx, table, k, cond) })
}

// query reads one page of a partition: {"Count", "Items", "ScannedCount",
// "LastEvaluatedKey"}.
func (d *dynamo) query(ctx context.Context, table string, p map[string]any, x *exprContext) (map[string]any, error) {
	for _, f := range []string{"IndexName", "FilterExpression", "KeyConditions", "QueryFilter"} {
		if p[f] != nil {
			return nil, fmt.Errorf("query with %s is %w", f, errUnsupported)
		}
	}
	q, err := x.parseKeyCondition(str(p, "KeyConditionExpression"))
	if err != nil {
		return nil, err
	}
	proj, err := x.projection(str(p, "ProjectionExpression"))
	if err != nil {
		return nil, err
	}
	if fwd, ok := p["ScanIndexForward"].(bool); ok && !fwd {
		q.Descending = true
	}
	if l, ok := p["Limit"]; ok {
		n, err := strconv.Atoi(fmt.Sprint(l))
		if err != nil || n < 1 {
			return nil, errors.New("limit must be a positive integer")
		}
		q.Limit = n
	}
	q.ConsistentRead, _ = p["ConsistentRead"].(bool)
	if esk := p["ExclusiveStartKey"]; esk != nil {
		k, err := keyFromJSON(esk)
		if err != nil {
			return nil, fmt.Errorf("ExclusiveStartKey: %w", err)
		}
		q.StartAfter = &k
	}
	page, err := d.b.Items.Query(ctx, table, q)
	if err != nil {
		return nil, err
	}
	items := make([]any, len(page.Items))
	for i, it := range page.Items {
		items[i] = itemToJSON(project(it, proj))
	}
	out := map[string]any{"Count": len(items), "Items": items, "ScannedCount": len(items)}
	if page.Next != nil {
		out["LastEvaluatedKey"] = keyToJSON(*page.Next)
	}
	return out, nil
}

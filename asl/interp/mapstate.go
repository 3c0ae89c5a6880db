package interp

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// mapConfig is the resolved configuration of one Map run.
type mapConfig struct {
	maxConcurrency int
	toleratedCount int     // -1: not set
	toleratedPct   float64 // -1: not set
	distributed    bool
}

// runMap runs a Map state once: it reads the items, runs the item processor
// for each with bounded concurrency and returns the results in item order.
func (sr *stateRun) runMap(ctx context.Context, eff any) (any, *StatesError) {
	st := sr.st
	proc := st.Processor()
	if proc == nil {
		return nil, sr.rtErr("The Map state has no ItemProcessor")
	}
	cfg, serr := sr.mapConfig(eff)
	if serr != nil {
		return nil, serr
	}
	var items []any
	if sr.jsonata && st.ItemReader == nil {
		var serr *StatesError
		if items, serr = sr.jsonataItems(eff); serr != nil {
			return nil, serr
		}
	} else if st.ItemReader != nil {
		items, serr = sr.readItems(ctx, eff)
		if serr != nil {
			return nil, serr
		}
	} else {
		src := eff
		if st.ItemsPath != nil && !st.ItemsPath.IsNull() {
			v, serr := sr.getPath(st.ItemsPath.Value, eff)
			if serr != nil {
				return nil, serr
			}
			src = v
		}
		arr, ok := src.([]any)
		if !ok {
			return nil, sr.rtErr("Map state input must be an array but was: %s", encodeJSON(src))
		}
		items = arr
	}
	// Item inputs: ItemSelector (or legacy Parameters) with $$.Map.Item.
	selector := st.ItemSelector
	if len(selector) == 0 {
		selector = st.Parameters
	}
	inputs := make([]any, len(items))
	for i, it := range items {
		if len(selector) == 0 {
			inputs[i] = it
			continue
		}
		sr.mapItem = map[string]any{"Index": jsonInt(i), "Value": it}
		var v any
		var serr *StatesError
		if sr.jsonata {
			v, serr = sr.evalRaw(selector, "ItemSelector", sr.statesVar(eff, nil))
		} else {
			v, serr = sr.template(selector, eff)
		}
		sr.mapItem = nil
		if serr != nil {
			return nil, serr
		}
		inputs[i] = v
	}
	if st.ItemBatcher != nil {
		batched, serr := sr.batch(eff, inputs)
		if serr != nil {
			return nil, serr
		}
		inputs = batched
	}
	sr.th.event(Event{Type: EventMapStateStarted, Length: len(inputs)})
	var mapRunARN string
	if cfg.distributed {
		mapRunARN = fmt.Sprintf("arn:aws:states:%s:%s:mapRun:%s/%s:%s", sr.th.x.eng.opts.Region, sr.th.x.eng.opts.AccountID, sr.th.x.eng.opts.StateMachineName, sr.mapRunLabel(), sr.th.x.eng.newID())
		sr.th.event(Event{Type: EventMapRunStarted, Resource: mapRunARN})
	}
	results, failed, failures, firstErr := sr.iterate(ctx, proc, inputs, cfg)
	if ctx.Err() != nil {
		sr.th.event(Event{Type: EventMapStateAborted})
		return nil, ctxError(ctx)
	}
	if firstErr != nil {
		exceeded := true
		if cfg.toleratedCount >= 0 || cfg.toleratedPct >= 0 {
			exceeded = false
			if cfg.toleratedCount >= 0 && failures > cfg.toleratedCount {
				exceeded = true
			}
			if cfg.toleratedPct >= 0 && len(inputs) > 0 && float64(failures)*100/float64(len(inputs)) > cfg.toleratedPct {
				exceeded = true
			}
			if exceeded {
				firstErr = newError(asl.ErrorExceedToleratedFailureThreshold, "The specified tolerated failure threshold was exceeded")
			}
		}
		if exceeded {
			if cfg.distributed {
				sr.th.event(Event{Type: EventMapRunFailed, Error: firstErr.Name, Cause: firstErr.Cause})
			}
			sr.th.event(Event{Type: EventMapStateFailed, Error: firstErr.Name, Cause: firstErr.Cause})
			return nil, firstErr
		}
	}
	if cfg.distributed {
		sr.th.event(Event{Type: EventMapRunSucceeded})
	}
	var out any = results
	if st.ResultWriter != nil {
		w, serr := sr.writeResults(ctx, eff, mapRunARN, inputs, results, failed)
		if serr != nil {
			sr.th.event(Event{Type: EventMapStateFailed, Error: serr.Name, Cause: serr.Cause})
			return nil, serr
		}
		out = w
	}
	sr.th.event(Event{Type: EventMapStateSucceeded})
	return out, nil
}

// mapRunLabel returns the label of a Map Run: Label or the state name.
func (sr *stateRun) mapRunLabel() string {
	if sr.st.Label != "" {
		return sr.st.Label
	}
	return sr.name
}

// mapConfig resolves MaxConcurrency and the failure tolerance.
func (sr *stateRun) mapConfig(eff any) (mapConfig, *StatesError) {
	st := sr.st
	cfg := mapConfig{toleratedCount: -1, toleratedPct: -1}
	if proc := st.Processor(); proc != nil && proc.ProcessorConfig != nil && proc.ProcessorConfig.Mode == asl.ModeDistributed {
		cfg.distributed = true
	}
	if sr.jsonata {
		states := sr.statesVar(eff, nil)
		if f, ok, serr := sr.jsonataNumber(st.MaxConcurrency, "MaxConcurrency", states); serr != nil {
			return cfg, serr
		} else if ok {
			if f < 0 {
				return cfg, sr.qeErr("MaxConcurrency cannot be negative.")
			}
			cfg.maxConcurrency = int(f)
		}
		if f, ok, serr := sr.jsonataNumber(st.ToleratedFailureCount, "ToleratedFailureCount", states); serr != nil {
			return cfg, serr
		} else if ok {
			if f < 0 {
				return cfg, sr.qeErr("ToleratedFailureCount cannot be negative.")
			}
			cfg.toleratedCount = int(f)
		}
		if f, ok, serr := sr.jsonataNumber(st.ToleratedFailurePercentage, "ToleratedFailurePercentage", states); serr != nil {
			return cfg, serr
		} else if ok {
			if f < 0 || f > 100 {
				return cfg, sr.qeErr("ToleratedFailurePercentage must be between 0 and 100.")
			}
			cfg.toleratedPct = f
		}
		if cfg.distributed && cfg.toleratedCount < 0 && cfg.toleratedPct < 0 {
			cfg.toleratedCount = 0
		}
		return cfg, nil
	}
	if st.MaxConcurrency != nil {
		n, ok := st.MaxConcurrency.Int64()
		if !ok || n < 0 {
			return cfg, sr.rtErr("MaxConcurrency must be a non-negative integer.")
		}
		cfg.maxConcurrency = int(n)
	} else if st.MaxConcurrencyPath != "" {
		v, serr := sr.getFieldPath(st.MaxConcurrencyPath, "MaxConcurrencyPath", eff)
		if serr != nil {
			return cfg, serr
		}
		n, ok := intLike(v)
		if !ok {
			return cfg, sr.rtErr("The MaxConcurrencyPath field refers to value \"%s\" which is not a valid integer: %s", plainText(v), st.MaxConcurrencyPath)
		}
		if n < 0 {
			return cfg, sr.rtErr("MaxConcurrency cannot be negative.")
		}
		cfg.maxConcurrency = int(n)
	}
	switch {
	case st.ToleratedFailureCount != nil:
		n, ok := st.ToleratedFailureCount.Int64()
		if !ok || n < 0 {
			return cfg, sr.rtErr("ToleratedFailureCount cannot be negative.")
		}
		cfg.toleratedCount = int(n)
	case st.ToleratedFailureCountPath != "":
		v, serr := sr.getFieldPath(st.ToleratedFailureCountPath, "ToleratedFailureCountPath", eff)
		if serr != nil {
			return cfg, serr
		}
		n, ok := intLike(v)
		if !ok {
			return cfg, sr.rtErr("The ToleratedFailureCountPath field refers to value \"%s\" which is not a valid integer: %s", plainText(v), st.ToleratedFailureCountPath)
		}
		if n < 0 {
			return cfg, sr.rtErr("ToleratedFailureCount cannot be negative.")
		}
		cfg.toleratedCount = int(n)
	}
	switch {
	case st.ToleratedFailurePercentage != nil:
		f, ok := st.ToleratedFailurePercentage.Float64()
		if !ok || f < 0 || f > 100 {
			return cfg, sr.rtErr("ToleratedFailurePercentage must be between 0 and 100.")
		}
		cfg.toleratedPct = f
	case st.ToleratedFailurePercentagePath != "":
		v, serr := sr.getFieldPath(st.ToleratedFailurePercentagePath, "ToleratedFailurePercentagePath", eff)
		if serr != nil {
			return cfg, serr
		}
		f, ok := floatLike(v)
		if !ok {
			return cfg, sr.rtErr("The ToleratedFailurePercentagePath field refers to value \"%s\" which is not a valid float: %s", plainText(v), st.ToleratedFailurePercentagePath)
		}
		if f < 0 || f > 100 {
			return cfg, sr.rtErr("ToleratedFailurePercentage must be between 0 and 100.")
		}
		cfg.toleratedPct = f
	}
	if cfg.distributed && cfg.toleratedCount < 0 && cfg.toleratedPct < 0 {
		// A Map Run tolerates no failed child execution by default; one
		// fails the Map with States.ExceedToleratedFailureThreshold.
		cfg.toleratedCount = 0
	}
	return cfg, nil
}

// jsonataItems evaluates Items (JSONata): an array, or an expression that
// must yield one; without Items the input must be an array.
func (sr *stateRun) jsonataItems(eff any) ([]any, *StatesError) {
	st := sr.st
	if len(st.Items) == 0 {
		arr, ok := eff.([]any)
		if !ok {
			return nil, sr.qeErr("Map state input must be an array but was: %s", encodeJSON(eff))
		}
		return arr, nil
	}
	raw, err := sr.th.x.eng.prog.value(st.Items)
	if err != nil {
		return nil, sr.qeErr("The field 'Items' is not valid JSON")
	}
	if s, isStr := raw.(string); isStr {
		if expr, ok := jsonataExpr(s); ok {
			v, serr := sr.evalTemplate(s, "Items", sr.statesVar(eff, nil))
			if serr != nil {
				return nil, serr
			}
			arr, isArr := v.([]any)
			if !isArr {
				return nil, sr.qeErr("The JSONata expression '%s' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '%s' for value: %s", expr, jsonpath.TypeName(v), encodeJSON(v))
			}
			return arr, nil
		}
	}
	v, serr := sr.evalTemplate(raw, "Items", sr.statesVar(eff, nil))
	if serr != nil {
		return nil, serr
	}
	arr, isArr := v.([]any)
	if !isArr {
		return nil, sr.qeErr("The field 'Items' must be an array or a JSONata expression, but was: %s", encodeJSON(v))
	}
	return arr, nil
}

// intLike accepts an integral number or a string holding one.
func intLike(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		return jsonpath.Int(x)
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// floatLike accepts a number or a string holding one.
func floatLike(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		return jsonpath.Float(x)
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

// iterate runs the processor for every input with at most
// cfg.maxConcurrency iterations at a time (0: no bound). Without a failure
// tolerance, the first failure stops the launch of further iterations and
// aborts the running ones.
func (sr *stateRun) iterate(ctx context.Context, proc *asl.StateMachine, inputs []any, cfg mapConfig) ([]any, []bool, int, *StatesError) {
	results := make([]any, len(inputs))
	failed := make([]bool, len(inputs))
	limit := cfg.maxConcurrency
	if limit <= 0 || limit > len(inputs) {
		limit = len(inputs)
	}
	tolerant := cfg.toleratedCount >= 0 || cfg.toleratedPct >= 0
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		failures int
		firstErr *StatesError
	)
	j := join{vc: sr.th.x.eng.vc}
	stop := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			return false
		}
		if !tolerant {
			return true
		}
		if cfg.toleratedCount >= 0 && failures > cfg.toleratedCount {
			return true
		}
		return cfg.toleratedPct >= 0 && float64(failures)*100/float64(len(inputs)) > cfg.toleratedPct
	}
	// one runs iteration i on child and records its outcome.
	one := func(i int, child *thread) {
		out, serr := child.safeRunMachine(ictx, proc, inputs[i])
		if !cfg.distributed {
			switch {
			case serr == nil:
				child.event(Event{Type: EventMapIterationSucceeded, Index: i})
			case serr == canceledError || ctx.Err() != nil:
				// Stopped from outside: a failing sibling, the
				// execution's timeout or its stop.
				child.event(Event{Type: EventMapIterationAborted, Index: i})
			default:
				child.event(Event{Type: EventMapIterationFailed, Index: i})
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if serr != nil {
			if serr == canceledError {
				return
			}
			failures++
			failed[i] = true
			if firstErr == nil {
				firstErr = serr
			}
			if tolerant {
				results[i] = map[string]any{"Error": serr.Name, "Cause": serr.Cause}
			} else {
				cancel()
			}
			return
		}
		results[i] = out
	}
	for i := range inputs {
		if ictx.Err() != nil || stop() {
			break
		}
		if limit > 1 {
			if !j.acquire(ictx, limit) {
				break
			}
			if ictx.Err() != nil || stop() {
				j.done()
				break
			}
		}
		var child *thread
		if cfg.distributed {
			child = sr.th.child(newDiscardHistory(sr.th.x.eng.opts.Clock))
			child.prev = 0
		} else {
			child = sr.th.child(nil)
			child.prev = sr.th.event(Event{Type: EventMapIterationStarted, Index: i})
		}
		if limit == 1 {
			// One at a time: the iteration runs on this goroutine.
			one(i, child)
			continue
		}
		workers.goWork(func() {
			defer j.done()
			one(i, child)
		})
	}
	j.waitAll()
	return results, failed, failures, firstErr
}

// batch groups item inputs per ItemBatcher.
func (sr *stateRun) batch(eff any, inputs []any) ([]any, *StatesError) {
	b := sr.st.ItemBatcher
	maxItems := 0
	if b.MaxItemsPerBatch != nil && b.MaxItemsPerBatch.IsExpr() {
		f, _, serr := sr.jsonataNumber(b.MaxItemsPerBatch, "MaxItemsPerBatch", sr.statesVar(eff, nil))
		if serr != nil {
			return nil, serr
		}
		maxItems = int(f)
	} else if b.MaxItemsPerBatch != nil {
		n, _ := b.MaxItemsPerBatch.Int64()
		maxItems = int(n)
	} else if b.MaxItemsPerBatchPath != "" {
		v, serr := sr.getFieldPath(b.MaxItemsPerBatchPath, "MaxItemsPerBatchPath", eff)
		if serr != nil {
			return nil, serr
		}
		n, ok := intLike(v)
		if !ok || n <= 0 {
			return nil, sr.rtErr("The MaxItemsPerBatchPath field refers to value \"%s\" which is not a valid positive integer: %s", plainText(v), b.MaxItemsPerBatchPath)
		}
		maxItems = int(n)
	}
	maxBytes := 0
	if b.MaxInputBytesPerBatch != nil && b.MaxInputBytesPerBatch.IsExpr() {
		f, _, serr := sr.jsonataNumber(b.MaxInputBytesPerBatch, "MaxInputBytesPerBatch", sr.statesVar(eff, nil))
		if serr != nil {
			return nil, serr
		}
		maxBytes = int(f)
	} else if b.MaxInputBytesPerBatch != nil {
		n, _ := b.MaxInputBytesPerBatch.Int64()
		maxBytes = int(n)
	} else if b.MaxInputBytesPerBatchPath != "" {
		v, serr := sr.getFieldPath(b.MaxInputBytesPerBatchPath, "MaxInputBytesPerBatchPath", eff)
		if serr != nil {
			return nil, serr
		}
		n, ok := intLike(v)
		if !ok || n <= 0 {
			return nil, sr.rtErr("The MaxInputBytesPerBatchPath field refers to value \"%s\" which is not a valid positive integer: %s", plainText(v), b.MaxInputBytesPerBatchPath)
		}
		maxBytes = int(n)
	}
	if maxBytes <= 0 || maxBytes > sr.th.x.eng.opts.MaxPayloadBytes {
		maxBytes = sr.th.x.eng.opts.MaxPayloadBytes
	}
	var batchInput any
	hasBatchInput := len(b.BatchInput) > 0
	if hasBatchInput && sr.jsonata {
		v, serr := sr.evalRaw(b.BatchInput, "ItemBatcher/BatchInput", sr.statesVar(eff, nil))
		if serr != nil {
			return nil, serr
		}
		batchInput = v
	} else if hasBatchInput {
		v, serr := sr.template(b.BatchInput, eff)
		if serr != nil {
			return nil, serr
		}
		batchInput = v
	}
	wrap := func(items []any) any {
		m := map[string]any{"Items": items}
		if hasBatchInput {
			m["BatchInput"] = batchInput
		}
		return m
	}
	var out []any
	var cur []any
	for _, it := range inputs {
		next := append(append([]any(nil), cur...), it)
		tooMany := maxItems > 0 && len(next) > maxItems
		tooBig := len(cur) > 0 && payloadSize(wrap(next), maxBytes) > maxBytes
		if tooMany || tooBig {
			out = append(out, wrap(cur))
			cur = []any{it}
			continue
		}
		cur = next
	}
	if len(cur) > 0 {
		out = append(out, wrap(cur))
	}
	return out, nil
}

// Runs every case of an ASL conformance JSONL file (see
// ../../../shared/asl-conformance/README.md for the format) through the npm
// package aws-local-stepfunctions, with the corpus' Lambda stubs, and writes
// one JSON line per case: {id, status, output?, error?, cause?, construct_ms,
// ms} or {id, skipped: reason}. construct_ms is the time of `new
// StateMachine` (which parses and validates the definition), ms the time of
// the execution alone (run to result). `go run ./cmd/stepcqrs asl conform --cases FILE
// --results OUT` grades that file with the same rules as our interpreter.
//
//   node run.mjs CASES.jsonl > results.jsonl
import { readFileSync } from 'node:fs';

// Node 20 lacks Promise.withResolvers, which the package uses.
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
const { StateMachine } = await import('aws-local-stepfunctions');

const LAMBDA_INVOKE = /^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/;

class StubError extends Error {
  constructor(type, message) {
    super(JSON.stringify({ errorMessage: message, errorType: type, requestId: 'stub', stackTrace: [] }));
    this.name = type;
  }
}

function stubBehaviour(behaviour, event) {
  switch (behaviour) {
    case 'identity': return event;
    case 'constant_hello_world': return { Return: 'HelloWorld' };
    case 'return_json_string': return 'HelloWorld!';
    case 'raise_exception': throw new StubError('Exception', 'Some exception was raised.');
    case 'raise_custom_exception': throw new StubError('CustomException', 'Some custom exception was raised.');
    case 'large_output_257k': return 'a'.repeat(257 * 1024);
    default: throw new Error(`unknown stub behaviour ${behaviour}`);
  }
}

function functionName(arnOrName) {
  const s = String(arnOrName ?? '');
  const parts = s.split(':');
  if (parts.length >= 7 && parts[5] === 'function') return parts[6];
  return parts[parts.length - 1];
}

// Walks a definition's states, nested ones too.
function* allStates(states) {
  for (const [name, st] of Object.entries(states ?? {})) {
    yield [name, st];
    for (const b of st.Branches ?? []) yield* allStates(b.States);
    const proc = st.ItemProcessor ?? st.Iterator;
    if (proc) yield* allStates(proc.States);
  }
}

function plan(c) {
  const tasks = {}, waits = {}, retries = {};
  let needsSleep = false;
  for (const [name, st] of allStates(c.definition.States)) {
    if (st.Type === 'Wait') waits[name] = 0;
    if (st.Retry) retries[name] = 0;
    if (st.Type !== 'Task') continue;
    const invoke = LAMBDA_INVOKE.test(st.Resource ?? '');
    const staticFn = invoke ? st.Parameters?.FunctionName : st.Resource;
    tasks[name] = async (input) => {
      const fn = functionName(invoke ? (input?.FunctionName ?? staticFn) : staticFn);
      const behaviour = c.stubs?.[fn];
      if (!behaviour) throw new StubError('ResourceNotFoundException', `no stub for ${fn}`);
      const payload = invoke ? input?.Payload : input;
      const result = stubBehaviour(behaviour, payload);
      if (!invoke) return result;
      return { ExecutedVersion: '$LATEST', Payload: result, SdkHttpMetadata: {}, SdkResponseMetadata: {}, StatusCode: 200 };
    };
    for (const fn of Object.keys(c.stubs ?? {})) if (c.stubs[fn] === 'sleep_60s_identity') needsSleep = true;
  }
  return { tasks, waits, retries, needsSleep };
}

async function runCase(c) {
  if ((c.features ?? []).includes('QueryLanguage=JSONata') || c.definition.QueryLanguage === 'JSONata') {
    return { id: c.id, skipped: 'JSONata' };
  }
  const p = plan(c);
  if (p.needsSleep) return { id: c.id, skipped: 'needs a 60 s sleeping Lambda (no virtual clock)' };
  const c0 = performance.now();
  let sm;
  try {
    sm = new StateMachine(c.definition, { validationOptions: { checkPaths: false, checkArn: false } });
  } catch (e) {
    const inner = e?.cause ?? e;
    return { id: c.id, status: 'FAILED', error: inner?.name, cause: inner?.message, construct_ms: performance.now() - c0 };
  }
  const construct_ms = performance.now() - c0;
  const t0 = performance.now();
  try {
    const exec = sm.run(c.input, {
      overrides: { taskResourceLocalHandlers: p.tasks, waitTimeOverrides: p.waits, retryIntervalOverrides: p.retries },
      context: { Execution: { Id: 'arn:aws:states:us-east-1:000000000000:execution:m:e', Input: c.input, Name: 'e', StartTime: new Date().toISOString() },
                 StateMachine: { Id: 'arn:aws:states:us-east-1:000000000000:stateMachine:m', Name: 'm' } },
    });
    const output = await exec.result;
    return { id: c.id, status: 'SUCCEEDED', output, construct_ms, ms: performance.now() - t0 };
  } catch (e) {
    const ms = performance.now() - t0;
    if (e?.name === 'ExecutionTimeoutError') return { id: c.id, status: 'TIMED_OUT', construct_ms, ms };
    const inner = e?.cause ?? e;
    return { id: c.id, status: 'FAILED', error: inner?.name, cause: inner?.message, construct_ms, ms };
  }
}

const file = process.argv[2];
if (!file) { console.error('usage: node run.mjs CASES.jsonl'); process.exit(2); }
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
let construct = 0, total = 0;
const t0 = performance.now();
for (const line of lines) {
  const r = await Promise.race([
    runCase(JSON.parse(line)),
    new Promise((res) => setTimeout(() => res({ id: JSON.parse(line).id, status: 'HUNG' }), 10000)),
  ]);
  construct += r.construct_ms ?? 0;
  total += r.ms ?? 0;
  process.stdout.write(JSON.stringify(r) + '\n');
}
console.error(`aws-local-stepfunctions: ${lines.length} cases, ${(performance.now() - t0).toFixed(0)} ms wall, ${construct.toFixed(0)} ms constructing machines, ${total.toFixed(0)} ms in executions`);
process.exit(0);

import 'reflect-metadata';
import { isDeepStrictEqual } from 'node:util';
import { ArgumentMetadata, PipeTransform, ValidationPipe } from '@nestjs/common';
import fc from 'fast-check';
import {
  compiledValidationDtos,
  compiledValidator,
  tollgateValidationPipe,
  type WhitelistMode,
} from '@app/http';
import { MessagesBodyPipe } from './anthropic/messages-body';
import { CountTokensRequestDto, MessagesRequestDto } from './anthropic/dto/messages-request.dto';
import { LlmCallDto } from './calls/dto/llm-call.dto';
import { CompleteJobDto } from './jobs/dto/complete-job.dto';
import { CreateAndCallDto } from './jobs/dto/create-and-call.dto';
import { CreateJobDto } from './jobs/dto/create-job.dto';
import { UpdateJobMetadataDto } from './jobs/dto/update-job-metadata.dto';
import { ChatCompletionRequestDto } from './openai/dto/chat-completion-request.dto';
import { CompletionRequestDto } from './openai/dto/completion-request.dto';
import { EmbeddingsRequestDto } from './openai/dto/embeddings-request.dto';
import { OpenAiBodyPipe } from './openai/openai-body';
import { CreateResponseDto } from './responses/dto/create-response.dto';
import { ResponsesBodyPipe } from './responses/responses-body';

/**
 * The differential proof of the compiled fast path (libs/http/src/compiled-validation.ts): for
 * every DTO it covers, random and mutated bodies are given to the pipe with and without the fast
 * path. Whenever ajv accepts a body, class-validator must accept it too and the value handed to
 * the controller must be the same (same class, same keys in the same order, same values); when
 * ajv refuses, the pipe's answer is class-validator's (the same error message).
 */

type Dto = new () => object;
type Outcome = { ok: true; value: unknown } | { ok: false; error: string };

const chat = {
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: [{ type: 'text', text: 'hi' }], name: 'ann' },
    { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function' }] },
    { role: 'tool', content: 'ok', tool_call_id: 't1' },
  ],
  purpose: 'demo',
  temperature: 0.7,
  max_tokens: 100,
  top_p: 1,
  stop: ['a', 'b'],
  response_format: { type: 'json_object' },
  tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
  tool_choice: 'auto',
  parallel_tool_calls: true,
  seed: 7,
  presence_penalty: -2,
  frequency_penalty: 2,
  logit_bias: { '50256': -100 },
  user: 'u-1',
  call_metadata: { trace: ['x', 1] },
};
const chatCompletion = {
  ...chat,
  max_completion_tokens: 50,
  n: 1,
  stream: true,
  stream_options: { include_usage: true },
  metadata: { a: 'b' },
  logprobs: false,
  top_logprobs: 20,
  store: false,
  service_tier: 'auto',
  reasoning_effort: 'low',
  verbosity: 'low',
  modalities: ['text'],
  audio: {},
  prediction: { type: 'content' },
  web_search_options: {},
  prompt_cache_key: 'k',
  safety_identifier: 's',
  unknown_extra: { kept: false },
};
const messages = {
  model: 'claude-3-5-haiku',
  max_tokens: 1024,
  messages: [
    { role: 'user', content: 'Hello' },
    { role: 'assistant', content: [{ type: 'text', text: 'Hi' }] },
    { role: 'system', content: [{ type: 'tool_result', content: 'x' }] },
  ],
  system: [{ type: 'text', text: 'Be brief.' }],
  tools: [{ name: 'f', input_schema: { type: 'object' } }],
  tool_choice: { type: 'auto' },
  thinking: { type: 'enabled', budget_tokens: 1024 },
  stop_sequences: ['\n\nHuman:'],
  temperature: 1,
  top_p: 0,
  top_k: 5,
  stream: false,
  metadata: { user_id: 'u-1' },
  service_tier: 'auto',
  anthropic_passthrough_extra: 1,
};

const forbid = (dto: Dto) => {
  const pipe = tollgateValidationPipe();
  const meta: ArgumentMetadata = { type: 'body', metatype: dto, data: '' };
  return {
    fast: (v: unknown) => pipe.transform(v, meta),
    // the same configured pipe, without the override: today's ValidationPipe
    slow: (v: unknown) => ValidationPipe.prototype.transform.call(pipe, v, meta),
  };
};
/** The pipe as it is, and the same pipe with its compiled check taken away. */
const custom = (make: () => PipeTransform) => {
  const fast = make();
  const slow = make();
  Reflect.set(slow, 'fast', undefined);
  expect(Reflect.get(fast, 'fast')).toBeDefined();
  return {
    fast: (v: unknown) => fast.transform(v, { type: 'custom' }),
    slow: (v: unknown) => slow.transform(v, { type: 'custom' }),
  };
};

interface Case {
  dto: Dto;
  mode: WhitelistMode;
  examples: object[];
  pipes: () => { fast: (v: unknown) => unknown; slow: (v: unknown) => unknown };
  /** The DTO instance in what the pipe hands on (none: the Messages pipe hands on the body). */
  instance?: (out: unknown) => unknown;
}

const itself = (out: unknown) => out;

const CASES: Record<string, Case> = {
  'ChatCompletionRequestDto (/v1/chat/completions)': {
    dto: ChatCompletionRequestDto,
    mode: 'strip',
    examples: [chatCompletion, { model: 'm', messages: [{ role: 'user', content: 'x' }] }],
    pipes: () => custom(() => new OpenAiBodyPipe(ChatCompletionRequestDto)),
    instance: itself,
  },
  'CompletionRequestDto (/v1/completions)': {
    dto: CompletionRequestDto,
    mode: 'strip',
    examples: [
      { model: 'm', prompt: 'Say', suffix: 's', best_of: 1, echo: false, logprobs: null },
      { model: 'm', prompt: ['one'], stop: 'x', stream: true, stream_options: {}, n: 1, seed: 1 },
    ],
    pipes: () => custom(() => new OpenAiBodyPipe(CompletionRequestDto)),
    instance: itself,
  },
  'EmbeddingsRequestDto (/v1/embeddings)': {
    dto: EmbeddingsRequestDto,
    mode: 'strip',
    examples: [
      { model: 'e', input: 'text', encoding_format: 'base64', dimensions: 256, user: 'u' },
      { model: 'e', input: ['a', 'b'] },
      { model: 'e', input: [1, 2, 3] },
      { model: 'e', input: [[1], [0, 2]] },
    ],
    pipes: () => custom(() => new OpenAiBodyPipe(EmbeddingsRequestDto)),
    instance: itself,
  },
  'MessagesRequestDto (/v1/messages)': {
    dto: MessagesRequestDto,
    mode: 'open',
    examples: [messages, { model: 'c', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }],
    pipes: () => custom(() => new MessagesBodyPipe(MessagesRequestDto)),
  },
  'CountTokensRequestDto (/v1/messages/count_tokens)': {
    dto: CountTokensRequestDto,
    mode: 'open',
    examples: [{ model: 'c', messages: messages.messages, system: 'Be brief.', tools: [] }],
    pipes: () => custom(() => new MessagesBodyPipe(CountTokensRequestDto)),
  },
  'CreateResponseDto (/v1/responses)': {
    dto: CreateResponseDto,
    mode: 'strip',
    examples: [
      {
        model: 'gpt-4o',
        input: [
          { role: 'user', content: 'hi' },
          { type: 'function_call_output', output: 'x' },
        ],
        instructions: 'Be brief.',
        tools: [{ type: 'function', name: 'f', parameters: {} }],
        tool_choice: { type: 'function', name: 'f' },
        parallel_tool_calls: null,
        max_output_tokens: 10,
        temperature: 2,
        top_p: 0.5,
        text: { format: { type: 'text' } },
        reasoning: null,
        store: false,
        stream: true,
        previous_response_id: null,
        metadata: { k: 'v' },
        user: 'u',
        truncation: 'auto',
      },
      { model: 'm', input: 'hello', tool_choice: 'auto' },
    ],
    pipes: () => custom(() => new ResponsesBodyPipe()),
    instance: (out) => (out as { req: unknown }).req,
  },
  'LlmCallDto (POST /v1/jobs/{id}/calls)': {
    dto: LlmCallDto,
    mode: 'forbid',
    examples: [chat, { model: 'm', messages: [{ role: 'user', content: 'x' }] }],
    pipes: () => forbid(LlmCallDto),
    instance: itself,
  },
  'CreateAndCallDto (POST /v1/jobs/call)': {
    dto: CreateAndCallDto,
    mode: 'forbid',
    examples: [
      {
        ...chat,
        job_type: 'doc',
        team_id: 't',
        user_id: 'u',
        metadata: {},
        job_metadata: { a: 1 },
      },
      { job_type: 'x', model: 'm', messages: [{ role: 'user', content: 'x' }] },
    ],
    pipes: () => forbid(CreateAndCallDto),
    instance: itself,
  },
  'CreateJobDto (POST /v1/jobs)': {
    dto: CreateJobDto,
    mode: 'forbid',
    examples: [{ job_type: 'doc', team_id: 't', user_id: 'u', metadata: { a: [1] } }],
    pipes: () => forbid(CreateJobDto),
    instance: itself,
  },
  'CompleteJobDto (POST /v1/jobs/{id}/complete)': {
    dto: CompleteJobDto,
    mode: 'forbid',
    examples: [{ status: 'failed', metadata: { x: 1 }, error_message: 'boom' }],
    pipes: () => forbid(CompleteJobDto),
    instance: itself,
  },
  'UpdateJobMetadataDto (PATCH /v1/jobs/{id}/metadata)': {
    dto: UpdateJobMetadataDto,
    mode: 'forbid',
    examples: [{ metadata: { a: { b: [null, true] } } }],
    pipes: () => forbid(UpdateJobMetadataDto),
    instance: itself,
  },
};

async function outcome(run: () => unknown): Promise<Outcome> {
  try {
    return { ok: true, value: await run() };
  } catch (e) {
    return { ok: false, error: String(e) + JSON.stringify((e as { response?: unknown }).response) };
  }
}

/** A body as the JSON parser hands it over (own `__proto__` keys included). */
const reparse = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

function setKey(target: object, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** Every object and array inside `v`, the root first. */
function containers(v: unknown, out: object[] = []): object[] {
  if (typeof v === 'object' && v !== null) {
    out.push(v);
    for (const child of Object.values(v)) containers(child, out);
  }
  return out;
}

const SPECIAL_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype', ''];
const EDGE_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  -1,
  0.5,
  1,
  2,
  2.0000001,
  -2.5,
  20,
  21,
  255,
  256,
  65_536,
  65_537,
  1_000_000,
  1_000_001,
  2048,
  1e300,
  -1e300,
  '',
  '\uFE0F',
  'x\uFE0F',
  '\uD83D\uDE00',
  '\uD800',
  'a'.repeat(255),
  'a'.repeat(256),
  '\uD83D\uDE00'.repeat(255),
  'b'.repeat(128) + '\uFE0F'.repeat(200),
  'user',
  'system',
  'developer',
  'tool',
  'assistant',
  'float',
  'base64',
  'completed',
  'failed',
  'text',
  [],
  {},
  [{}],
  [[]],
  [null],
  ['a', 'b', 'c', 'd'],
  ['a', 'b', 'c', 'd', 'e'],
  [1, 2],
  [[1, 2], [3]],
  [[1], []],
  [-1],
  [1.5],
  ['a', ''],
  [{ type: 'text' }],
  [{ type: 1 }],
  [{ role: 'user', content: 'x' }],
  [{ role: 'user' }],
  [{ role: 'user', content: 'x', extra: 1 }],
  { type: 'text' },
  { include_usage: 'yes' },
  { include_usage: true, more: 1 },
  { user_id: null },
  { user_id: 5 },
];

function arbitraryValue(keys: string[]): fc.Arbitrary<unknown> {
  const key = fc.oneof(fc.constantFrom(...keys, ...SPECIAL_KEYS), fc.string({ maxLength: 6 }));
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...EDGE_VALUES) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(key, fc.constantFrom(...EDGE_VALUES)), { maxLength: 3 })
        .map((pairs) => {
          const o = {};
          for (const [k, v] of pairs) setKey(o, k, v);
          return o;
        }),
    },
  );
}

type Mutation =
  | { op: 'set'; at: number; key: string; value: unknown }
  | { op: 'delete'; at: number; pick: number }
  | { op: 'replace'; at: number; pick: number; value: unknown };

function mutationArb(keys: string[]): fc.Arbitrary<Mutation> {
  const value = arbitraryValue(keys);
  const key = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...keys) },
    { weight: 1, arbitrary: fc.constantFrom(...SPECIAL_KEYS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  );
  const at = fc.nat();
  return fc.oneof(
    fc.record({ op: fc.constant('set' as const), at, key, value }),
    fc.record({ op: fc.constant('delete' as const), at, pick: fc.nat() }),
    fc.record({ op: fc.constant('replace' as const), at, pick: fc.nat(), value }),
  );
}

function mutate(example: object, mutations: Mutation[]): unknown {
  const body = reparse(example) as object;
  for (const m of mutations) {
    const all = containers(body);
    const target = all[m.at % all.length] as Record<string, unknown>;
    const keys = Object.keys(target);
    if (m.op === 'set') {
      setKey(target, Array.isArray(target) ? target.length : m.key, reparse(m.value));
    } else if (keys.length > 0) {
      const k = keys[m.pick % keys.length];
      if (m.op === 'delete' && !Array.isArray(target)) delete target[k];
      else if (m.op === 'delete') (target as unknown as unknown[]).splice(Number(k), 1);
      else setKey(target, k, reparse(m.value));
    }
  }
  return reparse(body);
}

/** The property names the DTO's schema knows, at every level. */
function schemaKeys(dto: Dto, mode: WhitelistMode): string[] {
  const schema = compiledValidator(dto, mode)?.schema as {
    definitions: Record<string, { properties: Record<string, unknown> }>;
  };
  return [...new Set(Object.values(schema.definitions).flatMap((d) => Object.keys(d.properties)))];
}

/** The value the controller receives, compared class by class and key order included. */
function sameValue(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b) && JSON.stringify(a) === JSON.stringify(b);
}

describe('compiled validation (ajv) against class-validator', () => {
  it('covers exactly the DTOs listed here, each with a schema (no fallback)', () => {
    const listed = new Set(Object.values(CASES).map((c) => c.dto));
    expect(new Set(compiledValidationDtos())).toEqual(listed);
    for (const c of Object.values(CASES)) {
      expect(compiledValidator(c.dto, c.mode)).toBeDefined();
    }
  });

  for (const [name, c] of Object.entries(CASES)) {
    describe(name, () => {
      const check = (v: unknown) => compiledValidator(c.dto, c.mode)!.check(v);

      it('accepts the valid examples, as class-validator does, with the same value', async () => {
        const { fast, slow } = c.pipes();
        for (const example of c.examples) {
          const checked = check(reparse(example));
          expect(checked).toBeDefined();
          const f = await outcome(() => fast(reparse(example)));
          const s = await outcome(() => slow(reparse(example)));
          expect(s.ok).toBe(true);
          expect(f.ok).toBe(true);
          expect(sameValue(f.ok && f.value, s.ok && s.value)).toBe(true);
          if (c.instance && s.ok) expect(sameValue(checked, c.instance(s.value))).toBe(true);
        }
      });

      it('every one-field edit of an example to an edge value (wrong types, bounds ±1, nulls, lengths)', async () => {
        const { fast, slow } = c.pipes();
        let accepted = 0;
        for (const example of c.examples) {
          const paths = containers(reparse(example)).length;
          for (let at = 0; at < paths; at++) {
            const keys = Object.keys(containers(reparse(example))[at]);
            for (let pick = 0; pick < keys.length; pick++) {
              for (const value of EDGE_VALUES) {
                const body = mutate(example, [{ op: 'replace', at, pick, value }]);
                const fastSaid = check(reparse(body));
                const s = await outcome(() => slow(reparse(body)));
                if (fastSaid !== undefined) {
                  accepted++;
                  if (!s.ok)
                    throw new Error(
                      `ajv accepted what class-validator refuses: ${JSON.stringify(body)}`,
                    );
                  if (c.instance) expect(sameValue(fastSaid, c.instance(s.value))).toBe(true);
                }
                const f = await outcome(() => fast(reparse(body)));
                if (f.ok && s.ok) expect(sameValue(f.value, s.value)).toBe(true);
                else expect(f).toEqual(s);
              }
            }
          }
        }
        expect(accepted).toBeGreaterThan(0);
      });

      it('never accepts what class-validator refuses, nor hands on another value (random and mutated bodies)', async () => {
        const { fast, slow } = c.pipes();
        const keys = schemaKeys(c.dto, c.mode);
        let accepted = 0;
        let refused = 0;
        const body = fc.oneof(
          {
            weight: 6,
            arbitrary: fc
              .tuple(
                fc.constantFrom(...c.examples),
                fc.array(mutationArb(keys), { minLength: 1, maxLength: 3 }),
              )
              .map(([e, ms]) => mutate(e, ms)),
          },
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(reparse) },
        );
        await fc.assert(
          fc.asyncProperty(body, async (value) => {
            const fastSaid = check(reparse(value));
            const s = await outcome(() => slow(reparse(value)));
            const f = await outcome(() => fast(reparse(value)));
            if (fastSaid !== undefined) {
              accepted++;
              // ajv accepted: class-validator accepts the same body, into the same value
              expect(s.ok).toBe(true);
              if (c.instance && s.ok) expect(sameValue(fastSaid, c.instance(s.value))).toBe(true);
            } else {
              refused++;
            }
            // and the pipe as wired answers exactly as today's class-validator pipe
            expect(f.ok).toBe(s.ok);
            if (f.ok && s.ok) expect(sameValue(f.value, s.value)).toBe(true);
            else expect(f).toEqual(s);
          }),
          { numRuns: 600 },
        );
        // both branches were exercised (the test cannot pass by refusing or accepting everything)
        expect(accepted).toBeGreaterThan(20);
        expect(refused).toBeGreaterThan(20);
      });
    });
  }

  it('huge arrays: 10,000 messages pass both ways, 10,001 fall back to the same refusal', async () => {
    const { fast, slow } = custom(() => new OpenAiBodyPipe(ChatCompletionRequestDto));
    const many = (n: number) => ({
      model: 'm',
      messages: Array.from({ length: n }, () => ({ role: 'user', content: 'x' })),
    });
    const compiledCheck = compiledValidator(ChatCompletionRequestDto, 'strip')!;
    const check = (v: unknown) => compiledCheck.check(v);
    expect(check(many(10_000))).toBeDefined();
    expect(sameValue(await fast(many(10_000)), await slow(many(10_000)))).toBe(true);
    expect(check(many(10_001))).toBeUndefined();
    const [f, s] = [
      await outcome(() => fast(many(10_001))),
      await outcome(() => slow(many(10_001))),
    ];
    expect(f.ok).toBe(false);
    expect(f).toEqual(s);
  });
});

import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { CreateResponseDto } from './dto/create-response.dto';
import { toCallBody, toResponse, toResponsesUsage } from './responses.mapper';

const dto = (body: Record<string, unknown>) => plainToInstance(CreateResponseDto, body);
const translate = (body: Record<string, unknown>) => toCallBody(dto(body), body);

describe('responses mapper', () => {
  it('turns instructions and a string input into system + user, and keeps the raw body', () => {
    const raw = { model: 'm', instructions: 'Be brief', input: 'hi', x_extra: 1 };
    const { body, problems } = translate(raw);
    expect(problems).toEqual([]);
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be brief' },
      { role: 'user', content: 'hi' },
    ]);
    expect(body.passthrough).toEqual({ api: 'responses', body: raw });
  });

  it('translates message, image, function_call (merged into one turn) and output items', () => {
    const { body, problems } = translate({
      model: 'm',
      input: [
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'rules' }] },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'look' },
            { type: 'input_image', image_url: 'data:image/png;base64,AA', detail: 'low' },
          ],
        },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        {
          type: 'message',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Calling', annotations: [] }],
        },
        { type: 'function_call', call_id: 'c1', name: 'a', arguments: '{}' },
        { type: 'function_call', call_id: 'c2', name: 'b', arguments: '{"x":1}' },
        { type: 'function_call_output', call_id: 'c1', output: 'one' },
        {
          type: 'function_call_output',
          call_id: 'c2',
          output: [{ type: 'input_text', text: 'two' }],
        },
      ],
    });
    expect(problems).toEqual([]);
    expect(body.messages).toEqual([
      { role: 'developer', content: [{ type: 'text', text: 'rules' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AA', detail: 'low' } },
        ],
      },
      { role: 'assistant', content: 'Calling' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'a', arguments: '{}' } },
          { id: 'c2', type: 'function', function: { name: 'b', arguments: '{"x":1}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'one' },
      { role: 'tool', tool_call_id: 'c2', content: 'two' },
    ]);
  });

  it('maps function tools, tool_choice, max_output_tokens and text.format; drops reasoning', () => {
    const { body, problems } = translate({
      model: 'm',
      input: 'x',
      tools: [{ type: 'function', name: 'f', description: 'd', parameters: { type: 'object' } }],
      tool_choice: { type: 'function', name: 'f' },
      parallel_tool_calls: false,
      max_output_tokens: 50,
      reasoning: { effort: 'high' },
      text: { format: { type: 'json_object' } },
    });
    expect(problems).toEqual([]);
    expect(body).toMatchObject({
      tools: [
        {
          type: 'function',
          function: { name: 'f', description: 'd', parameters: { type: 'object' } },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'f' } },
      parallel_tool_calls: false,
      max_tokens: 50,
      response_format: { type: 'json_object' },
    });
  });

  it('lists what chat cannot express as problems naming the param', () => {
    const { problems } = translate({
      model: 'm',
      input: [
        { type: 'item_reference', id: 'x' },
        { role: 'user', content: [{ type: 'input_file', file_id: 'f' }] },
      ],
      tools: [{ type: 'web_search' }],
      tool_choice: { type: 'allowed_tools', tools: [] },
    });
    expect(problems.map((p) => p.param)).toEqual([
      'input[0].type',
      'input[1].content[0].type',
      'tools[0].type',
    ]);
  });

  it('refuses a malformed item at once, whatever the deployment', () => {
    expect(() => translate({ model: 'm', input: [{ role: 'robot', content: 'x' }] })).toThrow(
      /input\[0\]\.role/,
    );
    expect(() =>
      translate({ model: 'm', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }),
    ).toThrow(/input\[0\]\.call_id/);
  });

  it('builds a Response: message and function_call items, status from the finish, usage details', () => {
    const req = dto({ model: 'pub', input: 'x', max_output_tokens: 5, store: true });
    const usage = {
      prompt_tokens: 10,
      completion_tokens: 5,
      total_tokens: 15,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 2 },
    };
    const res = toResponse(
      'resp_abc',
      {
        id: 'u',
        model: 'up',
        content: 'partial',
        finish_reason: 'length',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        usage,
      },
      'pub',
      req,
      1,
    );
    expect(res).toMatchObject({
      id: 'resp_abc',
      object: 'response',
      created_at: 1,
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      model: 'pub',
      store: false,
      max_output_tokens: 5,
      output: [
        { id: 'msg_abc', type: 'message', status: 'incomplete', role: 'assistant' },
        {
          type: 'function_call',
          call_id: 'call_1',
          name: 'f',
          arguments: '{}',
          status: 'completed',
        },
      ],
      usage: {
        input_tokens: 10,
        input_tokens_details: { cached_tokens: 4 },
        output_tokens: 5,
        output_tokens_details: { reasoning_tokens: 2 },
        total_tokens: 15,
      },
    });
    expect(toResponsesUsage({ prompt_tokens: 1, completion_tokens: 2, total_tokens: 0 })).toEqual(
      expect.objectContaining({ total_tokens: 3 }),
    );
  });
});

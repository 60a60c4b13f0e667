import { TollgateError } from '@app/http';
import { OpenAiBodyPipe } from './openai-body';
import { InvalidParamError } from './openai-error';

const pipe = new OpenAiBodyPipe();
const messages = [{ role: 'user', content: 'hi' }];

const failure = async (body: unknown) => {
  try {
    await pipe.transform(body);
  } catch (err) {
    return err as InvalidParamError;
  }
  throw new Error('expected a validation failure');
};

describe('OpenAiBodyPipe', () => {
  it('drops fields OpenAI does not define, at the top and inside messages', async () => {
    const dto = await pipe.transform({
      model: 'm',
      messages: [{ role: 'user', content: 'hi', refusal: null, extra: 1 }],
      seed: 1,
      chat_id: 'x',
    });
    expect(dto).toMatchObject({ model: 'm', seed: 1 });
    expect(dto).not.toHaveProperty('chat_id');
    expect(dto.messages[0]).toEqual({ role: 'user', content: 'hi' });
  });

  it('keeps content parts and stream options', async () => {
    const content = [{ type: 'image_url', image_url: { url: 'data:x' } }];
    const dto = await pipe.transform({
      model: 'm',
      messages: [{ role: 'user', content }],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(dto.messages[0].content).toEqual(content);
    expect(dto.stream_options).toEqual({ include_usage: true });
  });

  it.each([
    [{ messages }, 'model', 'model: must be a string'],
    [{ model: 'm' }, 'messages', 'messages: '],
    [{ model: 'm', messages, temperature: '1' }, 'temperature', 'temperature: must be a number'],
    [{ model: 'm', messages, n: 3 }, 'n', 'n: only 1 is supported'],
    [{ model: 'm', messages, max_completion_tokens: 1.5 }, 'max_completion_tokens', ''],
    [{ model: 'm', messages: [{ role: 'bot', content: 'x' }] }, 'messages[0].role', ''],
    [
      { model: 'm', messages, stream_options: { include_usage: 1 } },
      'stream_options.include_usage',
      '',
    ],
  ])('400 naming the param: %j', async (body, param, message) => {
    const err = await failure(body);
    expect(err).toBeInstanceOf(TollgateError);
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.param).toBe(param);
    expect(err.detail).toContain(message);
  });

  it('refuses a body that is not a JSON object', async () => {
    for (const body of [undefined, null, [], 'text']) {
      expect((await failure(body)).param).toBeNull();
    }
  });
});

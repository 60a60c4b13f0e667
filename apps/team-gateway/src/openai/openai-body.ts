import { createParamDecorator, ExecutionContext, PipeTransform, Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate, ValidationError } from 'class-validator';
import type { Request } from 'express';
import { compiledValidator } from '@app/http';
import { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';
import { InvalidParamError } from './openai-error';

/** When a type check fails, the range checks of the same field are noise. */
const TYPE_CONSTRAINTS = new Set([
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isArray',
  'isObject',
]);

interface Failure {
  param: string;
  message: string;
}

/** Each failing field with its path in OpenAI's style (`messages[0].role`). */
export function failuresOf(errors: ValidationError[], parent = ''): Failure[] {
  return errors.flatMap((e) => {
    const path = /^\d+$/.test(e.property)
      ? `${parent}[${e.property}]`
      : parent
        ? `${parent}.${e.property}`
        : e.property;
    const constraints = e.constraints ?? {};
    const typeKey = Object.keys(constraints).find((k) => TYPE_CONSTRAINTS.has(k));
    const first = typeKey ? constraints[typeKey] : Object.values(constraints)[0];
    const message = first?.replace(new RegExp(`^(each value in )?${e.property}\\s*`), '$1');
    const own = message ? [{ param: path, message }] : [];
    return [...own, ...failuresOf(e.children ?? [], path)];
  });
}

/**
 * Validates an OpenAI request body (chat completions unless told another DTO) without refusing
 * unknown fields (they are dropped), and reports failures as OpenAI does: 400 with the `param`.
 */
export class OpenAiBodyPipe<T extends object = ChatCompletionRequestDto> implements PipeTransform<
  unknown,
  Promise<T>
> {
  /** The DTO's schema compiled once; a body it accepts skips class-validator. */
  private readonly fast;

  constructor(private readonly type: Type<T> = ChatCompletionRequestDto as unknown as Type<T>) {
    this.fast = compiledValidator(type, 'strip');
  }

  async transform(value: unknown): Promise<T> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InvalidParamError('The request body must be a JSON object', null);
    }
    const checked = this.fast?.check(value);
    if (checked) return checked;
    const dto = plainToInstance(this.type, value, {
      enableImplicitConversion: false,
    });
    const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: false });
    const failures = failuresOf(errors);
    if (failures.length > 0) {
      const message = failures.map((f) => `${f.param}: ${f.message}`).join('; ');
      throw new InvalidParamError(message, failures[0].param);
    }
    return dto;
  }
}

const RawBody = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): unknown => ctx.switchToHttp().getRequest<Request>().body,
);

/**
 * An OpenAI request body (chat completions by default). A custom parameter, so the app's strict
 * global ValidationPipe (which refuses unknown fields) leaves it to OpenAiBodyPipe.
 */
export const OpenAiBody = (type: Type<object> = ChatCompletionRequestDto) =>
  RawBody(new OpenAiBodyPipe(type));

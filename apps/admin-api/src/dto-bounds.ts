import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsNumber, Max, Min } from 'class-validator';

/**
 * The bounds of the numeric settings, each written once: the validation and the OpenAPI
 * minimum/maximum together (the Swagger plugin reads only literal @Min/@Max on a property).
 */
function bounded(kind: 'int' | 'number', minimum: number, maximum: number): PropertyDecorator {
  const type = kind === 'int' ? IsInt() : IsNumber({ allowNaN: false, allowInfinity: false });
  return applyDecorators(ApiProperty({ minimum, maximum }), Max(maximum), Min(minimum), type);
}

export const MAX_CREDITS = 1_000_000_000_000;

/** A count of credits (an allocation, a key's budget). */
export const CreditCount = (minimum = 0) => bounded('int', minimum, MAX_CREDITS);
export const CreditsPerDollar = () => bounded('number', 0.000001, 1_000_000_000);
export const TokensPerCredit = () => bounded('int', 1, 1_000_000_000);
export const MarkupPercentage = () => bounded('number', 0, 10000);
export const RpmLimit = () => bounded('int', 1, 1_000_000);
export const TpmLimit = () => bounded('int', 1, 1_000_000_000);

import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsNumber, IsString, Length, Max, MaxLength, Min } from 'class-validator';

/**
 * The bounds of the numeric settings and text fields, each written once: the validation and the OpenAPI
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

/** USD per million tokens of a deployment's price (input, output, cached, cache-write). */
export const PricePerMillion = () => bounded('number', 0, 1_000_000);
/** A deployment's share of its model's traffic. */
export const DeploymentWeight = () => bounded('int', 1, 1_000_000);

/** A string of `minLength`..`maxLength` characters (validation and OpenAPI together). */
function text(minLength: number, maxLength: number): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ minLength, maxLength }),
    IsString(),
    Length(minLength, maxLength),
  );
}

/** Names, aliases and provider model ids. */
export const ShortText = () => text(1, 255);
/** A provider API key or AWS secret access key. */
export const SecretText = () => text(1, 4096);
/** An AWS session token of temporary credentials. */
export const SessionToken = () => text(1, 8192);
/** The longest URL accepted (api_base, webhook url); the URL check itself stays with the field. */
export const UrlLength = () => applyDecorators(ApiProperty({ maxLength: 2048 }), MaxLength(2048));

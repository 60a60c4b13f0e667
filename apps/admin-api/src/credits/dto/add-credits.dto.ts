import { IsInt, IsString, Length, Max, Min } from 'class-validator';
import { OptionalNotNull } from '@app/http';

export class AddCreditsDto {
  /**
   * Credits to add (a positive integer), written to the ledger as an allocation.
   * @example 500
   */
  @IsInt()
  @Min(1)
  @Max(1_000_000_000_000)
  credits!: number;

  /**
   * Why the credits were added (kept on the ledger row).
   * @example "Invoice 2026-11"
   */
  @OptionalNotNull()
  @IsString()
  @Length(1, 1000)
  reason?: string;
}

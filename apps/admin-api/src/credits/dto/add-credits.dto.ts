import { IsString, Length } from 'class-validator';
import { OptionalNotNull } from '@app/http';
import { CreditCount } from '../../dto-bounds';

export class AddCreditsDto {
  /**
   * Credits to add (a positive integer), written to the ledger as an allocation.
   * @example 500
   */
  @CreditCount(1)
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

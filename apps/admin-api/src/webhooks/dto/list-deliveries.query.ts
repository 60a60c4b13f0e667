import { IsIn } from 'class-validator';
import { DELIVERY_STATUSES, DeliveryStatus } from '@app/db';
import { OptionalNotNull, PageQueryDto } from '@app/http';

export class ListDeliveriesQueryDto extends PageQueryDto {
  /** Only deliveries in this state. */
  @OptionalNotNull()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

import { Module } from '@nestjs/common';
import { CallJournal } from './call-journal';
import { LeasesService } from './leases.service';

/** Credit leases and the durable call journal of this replica (docs/design/metering.md). */
@Module({
  providers: [LeasesService, CallJournal],
  exports: [LeasesService, CallJournal],
})
export class MeteringModule {}

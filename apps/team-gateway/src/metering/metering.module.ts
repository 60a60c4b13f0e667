import { Module } from '@nestjs/common';
import { CallJournal } from './call-journal';
import { JobGate } from './job-gate';
import { LeasesService } from './leases.service';

/** Credit leases and the durable call journal of this replica (docs/design/metering.md). */
@Module({
  providers: [LeasesService, CallJournal, JobGate],
  exports: [LeasesService, CallJournal, JobGate],
})
export class MeteringModule {}

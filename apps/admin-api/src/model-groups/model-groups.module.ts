import { Module } from '@nestjs/common';
import { ModelGroupsController } from './model-groups.controller';
import { ModelGroupsService } from './model-groups.service';

@Module({
  controllers: [ModelGroupsController],
  providers: [ModelGroupsService],
})
export class ModelGroupsModule {}

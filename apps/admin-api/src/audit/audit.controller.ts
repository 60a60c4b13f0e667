import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiTags } from '@nestjs/swagger';
import { AdminAuth } from '@app/auth';
import { AuditService } from './audit.service';
import { ListAuditQueryDto } from './dto/list-audit.query';

@ApiTags('audit')
@AdminAuth()
@Controller('api/audit-log')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /** Every admin mutation, newest first (filter by target). Secrets are never recorded. */
  @Get()
  @ApiBadRequestResponse({ description: 'Bad limit, cursor or filter' })
  list(@Query() query: ListAuditQueryDto) {
    return this.audit.list(query);
  }
}

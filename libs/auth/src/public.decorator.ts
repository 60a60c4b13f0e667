import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'tollgate:isPublic';

/** Opts a route out of the app's global auth guard. Keep the list short: a test walks it. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

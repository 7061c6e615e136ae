/** zod with one schema: the least any handler that validates its input loads of it. */
import * as z from 'zod';

const Input = z.strictObject({ releaseId: z.string().min(1) });
export const handler = async (event: unknown): Promise<unknown> => Input.parse(event);

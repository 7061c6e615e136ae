import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60000,
    // Vitest leaves one core free by default: on the 2-core CI machines that is one worker and a
    // suite twice as long (302 s against 185 s). Every core works; nothing else runs beside the suite.
    maxWorkers: availableParallelism(),
  },
});

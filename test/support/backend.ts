/** An operator backend for the command functions' tests: the ledger given, and only the actions a test gives (the others fail loudly). */
import type { OperatorBackend } from '../../cli/ops.js';

const unused = (name: string) => async (): Promise<never> => Promise.reject(new Error(`${name} is not used by this test`));

export function ledgerBackend(where: string, ledger: OperatorBackend['ledger'], actions: Partial<Omit<OperatorBackend, 'where' | 'ledger'>> = {}): OperatorBackend {
  return {
    where,
    ledger,
    answer: unused('answer'),
    rollback: unused('rollback'),
    requestRollback: unused('requestRollback'),
    rollbackRelease: unused('rollbackRelease'),
    setFreeze: unused('setFreeze'),
    incident: unused('incident'),
    ...actions,
  };
}

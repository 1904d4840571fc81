/**
 * `tpt report --table1`: the TPT paper's Table 1 layout ("natural distribution shifts"): one table per
 * backbone, rows are methods, columns are the five ImageNet test sets (the registry's `natural-shift`
 * benchmark), then the average and the OOD average over A, V2, R and Sketch (ImageNet is the
 * in-distribution one). The layout is benchmark-table.ts's; the method of a row is what the run recorded it
 * ran (run-method.ts), and the backbone the architecture read from its weights (older folders: the config's).
 */
import { benchmarkDatasets, type DatasetName } from '../data/datasets/registry.js';
import {
  type BenchmarkLayout,
  type BenchmarkTable,
  buildBenchmarkTables,
  formatBenchmarkCsv,
  formatBenchmarkJson,
  formatBenchmarkMarkdown,
} from './benchmark-table.js';
import { methodGroup, runFacts } from './run-method.js';
import type { ReportRow } from './run-row.js';

export { datasetOf } from './benchmark-table.js';

/** The paper's column order. */
export const TABLE1_DATASETS: readonly DatasetName[] = benchmarkDatasets('natural-shift').map((s) => s.name);

export const TABLE1_LAYOUT: BenchmarkLayout = { name: 'Table 1', datasets: TABLE1_DATASETS, oodAverage: true };

export type Table1 = BenchmarkTable;

/** The method group of a run from its config alone (plus, when given, what its folder recorded it ran). */
export function methodOf(config: Record<string, unknown>, configFile?: Record<string, unknown>, summary?: Record<string, unknown>): string {
  return methodGroup(runFacts(config, configFile, summary));
}

export function buildTable1(rows: readonly ReportRow[]): Table1[] {
  return buildBenchmarkTables(rows, TABLE1_LAYOUT);
}

export function formatTable1Markdown(tables: readonly Table1[]): string {
  return formatBenchmarkMarkdown(tables, TABLE1_LAYOUT);
}

export function formatTable1Json(tables: readonly Table1[]): string {
  return formatBenchmarkJson(tables, TABLE1_LAYOUT);
}

export function formatTable1Csv(tables: readonly Table1[]): string {
  return formatBenchmarkCsv(tables, TABLE1_LAYOUT);
}

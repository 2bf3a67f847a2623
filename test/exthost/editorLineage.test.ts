// Lineage from the editor, in a real VS Code's extension host: the hover on a column name (columnHover.ts), the
// "Lineage of <column>" lenses and Show Lineage of Column (columnLens.ts), Go to Definition on ref(), source() and
// CTE names (definitions.ts). Lines, columns and expected text are read off the fixture SQL by hand.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { SegmentLensApi } from '../../src/extension';
import { clockTime } from '../../src/shared/labels';

const workspace = vscode.workspace.workspaceFolders![0].uri;
// The bundled sample's model (sample/models/customer_segments.sql) as the workspace has it.
const modelUri = vscode.Uri.joinPath(workspace, 'models', 'marts', 'customer_segments.sql');
let api: SegmentLensApi;

/** Our hovers' Markdown at a position (other providers' hovers left out). */
async function hoverText(uri: vscode.Uri, position: vscode.Position): Promise<string[]> {
  const hovers =
    (await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, position)) ?? [];
  return hovers
    .flatMap((hover) => hover.contents)
    .map((content) => (typeof content === 'string' ? content : content.value))
    .filter((value) => value.includes('Segment Lens'));
}

/** The word at a 0-based line and character of the model, as a check that the position is the one meant. */
function wordAt(line: number, character: number): string {
  const text = readFileSync(modelUri.fsPath, 'utf8').split('\n')[line];
  return /^[A-Za-z_]\w*/.exec(text.slice(character))![0];
}

const link = (target: object) =>
  `[Show in the lineage](command:segmentLens.showColumnLineage?${encodeURIComponent(JSON.stringify([target]))})`;

async function definitions(uri: vscode.Uri, position: vscode.Position): Promise<{ file: string; range: string }[]> {
  const found =
    (await vscode.commands.executeCommand<(vscode.Location | vscode.LocationLink)[]>(
      'vscode.executeDefinitionProvider',
      uri,
      position,
    )) ?? [];
  return found.map((item) => {
    const [target, range] = 'targetUri' in item ? [item.targetUri, item.targetRange] : [item.uri, item.range];
    return {
      file: path.relative(workspace.fsPath, target.fsPath),
      range: `${range.start.line}:${range.start.character}-${range.end.line}:${range.end.character}`,
    };
  });
}

describe('Lineage from the editor', () => {
  before(async () => {
    api = await vscode.extensions.getExtension<SegmentLensApi>('segment-lens.segment-lens')!.activate();
    await vscode.window.showTextDocument(modelUri);
    await vscode.commands.executeCommand('segmentLens.run', modelUri);
    assert.equal(api.controller.state.status, 'done');
    assert.equal(api.controller.last?.result.model.file, modelUri.fsPath);
  });

  it('hovering a column name shows its lineage: sources, steps, the CASE of a segment, what it feeds', async () => {
    const time = clockTime(api.controller.last!.finishedAt, vscode.env.language);
    // Line 25: `    ROUND(AVG(total_spent), 2)  AS avg_ltv` — total_spent is base's, from int_customer_metrics.
    const spent = new vscode.Position(24, 14);
    assert.equal(wordAt(24, 14), 'total_spent');
    assert.deepEqual(await hoverText(modelUri, spent), [
      [
        '**`total_spent`** — column of CTE base',
        '',
        'Comes from:',
        '',
        '- `base.total_spent ← int_customer_metrics.total_spent` (passthrough)',
        '',
        'Feeds: `avg_ltv`',
        '',
        `${link({ id: 'base.total_spent' })} · Segment Lens, run of ${time}`,
      ].join('\n'),
    ]);
    // Line 28: `GROUP BY region, customer_segment` — the segment: its CASE (lines 11-16), and the rows it groups.
    assert.equal(wordAt(27, 17), 'customer_segment');
    assert.deepEqual(await hoverText(modelUri, new vscode.Position(27, 20)), [
      [
        '**`customer_segment`** — column of CTE base',
        '',
        'Comes from:',
        '',
        '- `base.customer_segment ← int_customer_metrics.total_spent` (case)',
        '',
        'The CASE that makes `base.customer_segment`:',
        '',
        '```sql',
        'CASE',
        "  WHEN i.total_spent >= 10000 THEN 'Platinum'",
        "  WHEN i.total_spent >= 5000 THEN 'Gold'",
        "  WHEN i.total_spent >= 1000 THEN 'Silver'",
        "  ELSE 'Bronze'",
        'END',
        '```',
        '',
        'Feeds: `customer_segment`',
        '',
        'Shapes rows: group key in the final select',
        '',
        `${link({ id: 'base.customer_segment' })} · Segment Lens, run of ${time}`,
      ].join('\n'),
    ]);
    // Line 12: `WHEN i.total_spent >= 10000 THEN 'Platinum'` — the source column the CASE compares.
    assert.equal(wordAt(11, 19), 'total_spent');
    const [source] = await hoverText(modelUri, new vscode.Position(11, 19));
    assert.match(source, /^\*\*`total_spent`\*\* — column of intermediate\.int\\_customer\\_metrics\n/);
    assert.match(source, /\nFeeds: `customer_segment`, `avg_ltv`\n/);
    // Line 24: the output column customer_count.
    const [count] = await hoverText(modelUri, new vscode.Position(23, 40));
    assert.match(count, /^\*\*`customer_count`\*\* — output column of customer\\_segments\n/);
    assert.match(
      count,
      /\n- `customer_segments\.customer_count ← int_customer_metrics\.customer_id` \(passthrough → aggregate\)\n/,
    );
    // Not a column: a keyword, the CTE's name.
    assert.deepEqual(await hoverText(modelUri, new vscode.Position(26, 1)), []);
    assert.deepEqual(await hoverText(modelUri, new vscode.Position(26, 6)), []);
  });

  it('gives no hover in a file the last run has no lineage of', async () => {
    const other = vscode.Uri.joinPath(workspace, 'models', 'other.sql');
    writeFileSync(other.fsPath, 'select total_spent from x\n');
    try {
      assert.deepEqual(await hoverText(other, new vscode.Position(0, 8)), []);
    } finally {
      rmSync(other.fsPath, { force: true });
    }
  });

  it('puts a "Lineage of" lens for each output column on the final SELECT line; it lights that column in the panel', async () => {
    const lenses = (
      (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', modelUri)) ?? []
    ).filter((lens) => lens.command?.command === 'segmentLens.showColumnLineage');
    assert.deepEqual(
      lenses.map((lens) => [lens.command!.title, lens.range.start.line]),
      // Line 21 is the final select's `SELECT`.
      ['region', 'customer_segment', 'customer_count', 'avg_ltv', 'avg_orders'].map((column) => [
        `Lineage of ${column}`,
        20,
      ]),
    );
    const avgLtv = lenses[3].command!;
    const shown = await vscode.commands.executeCommand(avgLtv.command, ...avgLtv.arguments!);
    assert.deepEqual(shown, { id: 'avg_ltv' });
    assert.ok(api.panel.visible);
    assert.deepEqual(api.panel.posted.at(-1), { type: 'focusColumn', id: 'avg_ltv' });
  });

  it('Show Lineage of Column: the column under the cursor, or the one a hover links to', async () => {
    const editor = await vscode.window.showTextDocument(modelUri);
    // Line 8: `        i.total_spent,` — the cursor at the end of the name still names it.
    editor.selection = new vscode.Selection(7, 21, 7, 21);
    assert.deepEqual(await vscode.commands.executeCommand('segmentLens.showColumnLineage'), { id: 'base.total_spent' });
    assert.deepEqual(api.panel.posted.at(-1), { type: 'focusColumn', id: 'base.total_spent' });
    assert.deepEqual(
      await vscode.commands.executeCommand('segmentLens.showColumnLineage', { id: 'base.customer_segment' }),
      { id: 'base.customer_segment' },
    );
    // Nothing there, or a column this run does not have: nothing is posted.
    const before = api.panel.posted.length;
    await vscode.window.showTextDocument(modelUri);
    vscode.window.activeTextEditor!.selection = new vscode.Selection(0, 0, 0, 0);
    assert.equal(await vscode.commands.executeCommand('segmentLens.showColumnLineage'), undefined);
    assert.equal(await vscode.commands.executeCommand('segmentLens.showColumnLineage', { id: 'nope' }), undefined);
    assert.equal(api.panel.posted.length, before);
  });

  it('Go to Definition: a CTE name, ref() to a model and to a seed, source() to its table in the properties file', async () => {
    const dir = path.join(workspace.fsPath, 'definitions_demo');
    mkdirSync(path.join(dir, 'models', 'staging'), { recursive: true });
    mkdirSync(path.join(dir, 'seeds'), { recursive: true });
    try {
      writeFileSync(path.join(dir, 'dbt_project.yml'), 'name: definitions_demo\nprofile: definitions_demo\n');
      writeFileSync(path.join(dir, 'seeds', 'raw_people.csv'), 'id,name\n1,Ann\n');
      writeFileSync(path.join(dir, 'models', 'staging', 'stg_people.sql'), "select id from {{ ref('raw_people') }}\n");
      writeFileSync(
        path.join(dir, 'models', 'staging', 'sources.yml'),
        [
          'version: 2',
          'sources:',
          '  - name: shop',
          '    tables:',
          '      - name: raw_orders',
          '      - name: raw_payments',
          '',
        ].join('\n'),
      );
      const explore = vscode.Uri.file(path.join(dir, 'models', 'explore.sql'));
      writeFileSync(
        explore.fsPath,
        [
          'with people as (',
          "    select id from {{ ref('stg_people') }}",
          '),',
          'paid as (',
          "    select order_id from {{ source('shop', 'raw_payments') }}",
          ')',
          'select people.id from people join paid on paid.order_id = people.id',
          '',
        ].join('\n'),
      );
      // `ref('stg_people')` on line 2, the cursor on the model's name: its file, at its start.
      assert.deepEqual(await definitions(explore, new vscode.Position(1, 30)), [
        { file: 'definitions_demo/models/staging/stg_people.sql', range: '0:0-0:0' },
      ]);
      // `source('shop', 'raw_payments')` on line 5: line 6 of sources.yml, `name` of `- name: raw_payments`.
      assert.deepEqual(await definitions(explore, new vscode.Position(4, 44)), [
        { file: 'definitions_demo/models/staging/sources.yml', range: '5:8-5:8' },
      ]);
      // `ref('raw_people')` in stg_people.sql: the seed's CSV.
      assert.deepEqual(
        await definitions(
          vscode.Uri.file(path.join(dir, 'models', 'staging', 'stg_people.sql')),
          new vscode.Position(0, 28),
        ),
        [{ file: 'definitions_demo/seeds/raw_people.csv', range: '0:0-0:0' }],
      );
      // `from people` and `join paid` on line 7: the CTEs' names on lines 1 and 4.
      assert.deepEqual(await definitions(explore, new vscode.Position(6, 26)), [
        { file: 'definitions_demo/models/explore.sql', range: '0:5-0:11' },
      ]);
      assert.deepEqual(await definitions(explore, new vscode.Position(6, 36)), [
        { file: 'definitions_demo/models/explore.sql', range: '3:0-3:4' },
      ]);
      // A ref() to nothing the project has, and a plain column: nowhere.
      const nowhere = vscode.Uri.file(path.join(dir, 'models', 'nowhere.sql'));
      writeFileSync(nowhere.fsPath, "select id from {{ ref('nope') }}\n");
      assert.deepEqual(await definitions(nowhere, new vscode.Position(0, 24)), []);
      assert.deepEqual(await definitions(nowhere, new vscode.Position(0, 8)), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

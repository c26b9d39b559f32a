import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { githubSlug, headingAnchors, isExternal, markdownLinks } from '../fixtures/markdownLinks.js';
import { ROOT } from '../helpers.js';

/** Folders that hold no documentation of ours. */
const NOT_DOCS = new Set(['node_modules', 'dist', 'runs', '.git', '.gpu']);

/** Every Markdown file of the repository, relative to its root, with / separators. */
function markdownFiles(dir = ''): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return NOT_DOCS.has(entry.name) ? [] : markdownFiles(rel);
    return entry.isFile() && entry.name.endsWith('.md') ? [rel] : [];
  });
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (!anchors) anchorCache.set(file, (anchors = headingAnchors(readFileSync(path.join(ROOT, file), 'utf8'))));
  return anchors;
}

/** What is wrong with a relative link from `from` (a repository path), or undefined when it resolves. */
function linkProblem(from: string, target: string): string | undefined {
  const hash = target.indexOf('#');
  const filePart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  // GitHub resolves /x from the repository root, anything else from the linking file's folder.
  const resolved = filePart === '' ? from : filePart.startsWith('/') ? path.posix.normalize(filePart.slice(1)) : path.posix.join(path.posix.dirname(from), filePart);
  if (resolved.startsWith('..')) return `${resolved} is outside the repository`;
  if (!existsSync(path.join(ROOT, resolved))) return `${resolved} does not exist`;
  if (anchor === undefined || anchor === '') return undefined;
  if (!resolved.endsWith('.md')) return undefined;
  return anchorsOf(resolved).has(anchor) ? undefined : `${resolved} has no heading with the anchor #${anchor}`;
}

test('every relative link and image in the Markdown files resolves, anchors to a heading', () => {
  const files = markdownFiles();
  for (const must of ['README.md', 'deploy/README.md', 'docs/hosts.md', 'docs/performance.md']) assert.ok(files.includes(must), `${must} is among the files checked`);
  const broken: string[] = [];
  let checked = 0;
  for (const file of files) {
    for (const link of markdownLinks(readFileSync(path.join(ROOT, file), 'utf8'))) {
      if (isExternal(link.target)) continue;
      checked++;
      const problem = link.target === '' ? 'an empty link' : linkProblem(file, link.target);
      if (problem) broken.push(`${file}:${link.line}: ${link.image ? 'image' : 'link'} ${link.target}: ${problem}`);
    }
  }
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
  assert.ok(checked >= 50, `only ${checked} relative links were found: the extraction itself is broken`);
});

test('the README is a front page: at most 250 lines, and it lists every guide in docs/', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0);
  assert.ok(lines <= 250, `README.md has ${lines} lines`);
  const linked = new Set(markdownLinks(readme).map((l) => l.target.split('#')[0]));
  const guides = readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md'));
  assert.ok(guides.length >= 7, `docs/ holds ${guides.length} guides`);
  for (const guide of guides) assert.ok(linked.has(`docs/${guide}`), `README.md links to docs/${guide}`);
});

test('links: found in prose, images and references; not inside code', () => {
  const md = [
    'See [hosts](docs/hosts.md#on-one-machine) and ![a grid](docs/sample.png "title").',
    '[![badge](img/badge.svg)](https://example.org) `[not](a-link.md)`',
    '```sh',
    'echo "[not](inside-a-fence.md)"',
    '```',
    '[ref]: docs/ref.md',
    '<img src="docs/logo.png" alt="">',
  ].join('\n');
  assert.deepEqual(markdownLinks(md), [
    { target: 'docs/hosts.md#on-one-machine', line: 1, image: false },
    { target: 'docs/sample.png', line: 1, image: true },
    { target: 'https://example.org', line: 2, image: false },
    { target: 'img/badge.svg', line: 2, image: true },
    { target: 'docs/ref.md', line: 6, image: false },
    { target: 'docs/logo.png', line: 7, image: true },
  ]);
  assert.equal(isExternal('https://ui.perfetto.dev'), true);
  assert.equal(isExternal('../deploy/README.md'), false);
});

test('anchors: as GitHub makes them from headings, code and punctuation included', () => {
  assert.equal(githubSlug('Training throughput: `npm run bench:train`'), 'training-throughput-npm-run-benchtrain');
  assert.equal(githubSlug('On a GPU: `scripts/gpu-check.sh`'), 'on-a-gpu-scriptsgpu-checksh');
  assert.equal(githubSlug('Progress, errors and exit status'), 'progress-errors-and-exit-status');
  assert.equal(githubSlug('Software GPUs: llvmpipe, SwiftShader'), 'software-gpus-llvmpipe-swiftshader');
  assert.equal(githubSlug('`trainer coordinator`'), 'trainer-coordinator');
  const anchors = headingAnchors('# Title\n## Setup\n```\n## not a heading\n```\n### Setup\n#no-space is no heading\n');
  assert.deepEqual([...anchors], ['title', 'setup', 'setup-1']);
});

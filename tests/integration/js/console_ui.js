// Drives the web console in headless Chromium (Debian's /usr/bin/chromium) with
// playwright-core, for test_console.py. One phase per run:
//   topic: create a topic, alter a config, produce a record, find it in the message browser
//   group: see a group's lag, preview and apply an offset reset to earliest
//   login: on a SASL broker, log in (HTTP Basic) and see the topics
// Screenshots go to args.shots; any console error or page error fails the run.
// Prints one `RESULT {json}` line.
'use strict'

const { chromium } = require('playwright-core')

const args = JSON.parse(process.argv[2])
const deadline = setTimeout(() => { console.error('console_ui.js: deadline'); process.exit(70) }, 150000)
const T = 20000  // per step

async function topicPhase(page, url, shots, out) {
  await page.goto(url + '/')
  await page.waitForSelector('[data-testid=brokers] tbody tr', { timeout: T })
  await page.screenshot({ path: `${shots}/overview.png`, fullPage: true })

  await page.click('a[data-page=topics]')
  await page.click('details.card > summary')
  await page.fill('[data-testid=create-name]', args.topic)
  await page.fill('[data-testid=create-partitions]', '2')
  await page.click('[data-testid=create-topic] button[type=submit]')
  await page.waitForURL(/#\/topic\//, { timeout: T })
  await page.waitForSelector('[data-testid=partitions] tbody tr', { timeout: T })
  out.partitionRows = await page.locator('[data-testid=partitions] tbody tr').count()

  await page.fill('[data-testid=config-key]', 'retention.ms')
  await page.fill('[data-testid=config-value]', '86400000')
  await page.click('[data-testid=alter-config] button[type=submit]')
  const row = page.locator('[data-testid=configs] tr[data-config="retention.ms"]')
  await row.filter({ hasText: '86400000' }).waitFor({ timeout: T })
  out.retentionSource = (await row.locator('.source').textContent()).trim()
  await page.screenshot({ path: `${shots}/topic.png`, fullPage: true })

  await page.click('a.button:has-text("Browse messages")')
  await page.waitForSelector('[data-testid=produce-form]', { timeout: T })
  await page.fill('[data-testid=produce-key]', 'console-key')
  await page.fill('[data-testid=produce-value]', args.value)
  await page.fill('[data-testid=produce-headers]', 'origin=console')
  await page.click('[data-testid=produce-form] button[type=submit]')
  await page.locator('[data-testid=produce-result]', { hasText: 'offset' }).waitFor({ timeout: T })
  out.produced = (await page.textContent('[data-testid=produce-result]')).trim()

  await page.selectOption('[data-testid=browse-mode]', 'offset')
  await page.fill('[data-testid=browse-offset]', '0')
  await page.click('[data-testid=browse-form] button[type=submit]')
  await page.locator('[data-testid=records] tbody tr', { hasText: 'console-key' }).waitFor({ timeout: T })
  await page.selectOption('[data-testid=browse-format]', 'json')
  out.recordText = (await page.locator('[data-testid=records] tbody tr').first().textContent()).trim()
  out.jsonShown = await page.locator('[data-testid=records] pre.json').count()
  await page.selectOption('[data-testid=browse-format]', 'text')
  // The live tail polls from the next offset: a record produced now appears below the first.
  await page.check('[data-testid=live-tail]')
  await page.fill('[data-testid=produce-key]', 'tail-key')
  await page.fill('[data-testid=produce-value]', 'second record')
  await page.click('[data-testid=produce-form] button[type=submit]')
  await page.locator('[data-testid=records] tbody tr', { hasText: 'tail-key' }).waitFor({ timeout: T })
  out.tailRows = await page.$$eval('[data-testid=records] tbody tr', (rows) => rows.map((r) => r.children[0].textContent))
  await page.uncheck('[data-testid=live-tail]')
  await page.screenshot({ path: `${shots}/messages.png`, fullPage: true })

  await page.click('a[data-page=topics]')
  await page.fill('[data-testid=topic-search]', args.topic)
  await page.locator('[data-testid=topic-list] tbody tr', { hasText: args.topic }).waitFor({ timeout: T })
  out.listed = await page.locator('[data-testid=topic-list] tbody tr').count()
  await page.screenshot({ path: `${shots}/topics.png`, fullPage: true })
}

async function groupPhase(page, url, shots, out) {
  await page.goto(url + '/#/groups')
  await page.locator('[data-testid=group-list] a', { hasText: args.group }).click({ timeout: T })
  // The lag the test made (records produced after the group's commit) appears.
  await page.locator('[data-testid=group-total-lag]', { hasText: String(args.expectLag) }).waitFor({ timeout: T })
  out.lagBefore = (await page.textContent('[data-testid=group-total-lag]')).trim()
  out.statusBefore = (await page.textContent('[data-testid=group-status]')).trim()
  await page.waitForTimeout(4500)  // a few polls, so the chart has a line (a picture, not an assertion)
  await page.fill('[data-testid=reset-topic]', args.topic)
  await page.selectOption('[data-testid=reset-to]', 'earliest')
  await page.click('[data-testid=reset-preview-button]')
  await page.waitForSelector('[data-testid=reset-preview] tbody tr', { timeout: T })
  out.preview = await page.$$eval('[data-testid=reset-preview] tbody tr',
    (rows) => rows.map((r) => Array.from(r.children, (td) => td.textContent.trim())))
  await page.screenshot({ path: `${shots}/group.png`, fullPage: true })
  await page.click('[data-testid=reset-apply]')
  await page.waitForSelector('[data-testid=reset-done]', { timeout: T })
  await page.locator('[data-testid=group-total-lag]', { hasText: String(args.expectLagAfter) }).waitFor({ timeout: T })
  out.lagAfter = (await page.textContent('[data-testid=group-total-lag]')).trim()

  await page.click('a[data-page=metrics]')
  await page.waitForSelector('[data-testid=chart-bytes]', { timeout: T })
  await page.waitForTimeout(4500)
  await page.screenshot({ path: `${shots}/throughput.png`, fullPage: true })
}

// A broker with SASL: the browser answers the console's login challenge (HTTP
// Basic) with args.credentials; the page shows the principal and the topics.
async function loginPhase(page, url, shots, out) {
  await page.goto(url + '/#/topics')
  await page.locator('#who', { hasText: 'User:' }).waitFor({ timeout: T })
  out.who = (await page.textContent('#who')).trim()
  await page.locator('[data-testid=topic-list] tbody tr', { hasText: args.topic }).waitFor({ timeout: T })
}

async function main() {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, httpCredentials: args.credentials })
  const page = await context.newPage()
  const errors = []
  page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()) })
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message))
  const out = { phase: args.phase }
  try {
    const phases = { topic: topicPhase, group: groupPhase, login: loginPhase }
    await phases[args.phase](page, args.url, args.shots, out)
  } catch (e) {
    out.failure = String(e && e.stack || e)
    await page.screenshot({ path: `${args.shots}/failure-${args.phase}.png`, fullPage: true }).catch(() => {})
  }
  out.errors = errors
  await browser.close()
  clearTimeout(deadline)
  console.log('RESULT ' + JSON.stringify(out))
}

main().catch((e) => { console.error(e); process.exit(1) })

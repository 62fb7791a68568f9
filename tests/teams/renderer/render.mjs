// Renders Adaptive Cards with Microsoft's own renderer (the npm package
// `adaptivecards`) in headless Chromium and prints each card's text as the
// renderer shows it. Reads {"name": card, ...} on stdin; writes
// {"name": innerText, ...} on stdout and a screenshot to argv[2] if given.
import fs from "fs";
import { createRequire } from "module";

const require = createRequire(process.env.JIGSAW_CARD_RENDERER + "/");
const puppeteer = require("puppeteer-core");
const lib = fs.readFileSync(require.resolve("adaptivecards/dist/adaptivecards.js"), "utf8");
const cards = JSON.parse(fs.readFileSync(0, "utf8"));
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless=new"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: Number(process.env.JIGSAW_VIEWPORT_WIDTH || 700), height: 900 });
  await page.setContent("<html><body style='font-family:sans-serif'><div id=c></div></body></html>");
  await page.addScriptTag({ content: lib });
  const texts = await page.evaluate((cards) => {
    const out = {};
    for (const [name, json] of Object.entries(cards)) {
      const card = new AdaptiveCards.AdaptiveCard();
      card.parse(json);
      const element = card.render();
      document.getElementById("c").appendChild(element);
      out[name] = element.innerText;
    }
    return out;
  }, cards);
  if (process.argv[2]) await page.screenshot({ path: process.argv[2], fullPage: true });
  process.stdout.write(JSON.stringify(texts));
} finally {
  await browser.close();
}

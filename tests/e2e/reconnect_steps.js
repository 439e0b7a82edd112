// The reconnect step (the reconnect grace period, issue 12): cut the connection under the page
// the way a lost network does (a TCP relay between browser and server drops it, no WebSocket
// close frame either way), press the frontend's Retry, and wait for the resumed session.
'use strict';

function reconnectSteps({ EVENT, waitForImage, alertTexts }) {
  const appState = (page) => page.evaluate(() => ({
    sessionId: window.app.backendService.sessionId,
    connectionStatus: window.app.backendService.connectionStatus,
    files: window.app.frames.map((f) => ({ fileId: f.frameInfo.fileId, name: f.filename })),
    activeFileId: window.app.activeFrame ? window.app.activeFrame.frameInfo.fileId : null,
  }));

  return {
    /** step.cut_url: the relay's cut endpoint. Returns the app state before and after, the
     *  retry alert's text, the settled canvas and the wire log of the reconnection. */
    async reconnect(ctx, step) {
      const { page, recorder, timeout } = ctx;
      const before = await appState(page);
      const mark = recorder.frames.length;
      const answer = await fetch(step.cut_url);
      if (!answer.ok) throw new Error(`relay cut failed: HTTP ${answer.status}`);
      const retry = page.locator('.bp3-alert-footer button', { hasText: 'Retry' }).first();
      await retry.waitFor({ state: 'visible', timeout });
      const alerts = await alertTexts(page);
      await retry.click();
      await recorder.waitFrames((fr) => fr.slice(mark).some(
        (f) => f.dir === 'recv' && f.type === EVENT.RESUME_SESSION_ACK), timeout, 'RESUME_SESSION_ACK');
      await page.waitForFunction(
        () => window.app.backendService.connectionStatus === 2 && !window.app.resumingSession, null, { timeout });
      const canvas = await waitForImage(page, timeout);
      const types = [EVENT.REGISTER_VIEWER, EVENT.REGISTER_VIEWER_ACK, EVENT.CLOSE_FILE, EVENT.RESUME_SESSION,
        EVENT.RESUME_SESSION_ACK, EVENT.REGION_HISTOGRAM_DATA, EVENT.ERROR_DATA];
      return {
        before, after: await appState(page), alerts, canvas, alerts_after: await alertTexts(page),
        closes: recorder.frames.slice(mark).filter((f) => f.dir === 'close').length,
        wire: recorder.wire(mark, types),
      };
    },
  };
}

module.exports = { reconnectSteps };
